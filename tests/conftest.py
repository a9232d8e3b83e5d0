"""Test fixtures: an app per test session, a clean database per test, users per role, logged-in clients.

Every test runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set (CI sets it).
Isolation: after each test every table is emptied (the code under test commits for real, once per request,
so a surrounding rolled-back transaction would not model it faithfully).
"""

from __future__ import annotations

import contextvars
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import text, update

import config as config_module
from caseapp import create_app
from caseapp.accounts import operations as ops
from caseapp.accounts.models import Role, Unit, User
from caseapp.extensions import db as _db
from caseapp.extensions import limiter
from caseapp.security import auth as authlib
from caseapp.security.audit import AuditEvent
from caseapp.security.keys import ensure_key_files

TEST_PASSWORD = "Korrekt-Häst-Batteri-42"


def database_url(tmp_dir: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.db'}"


def is_postgres() -> bool:
    return (os.environ.get("TEST_DATABASE_URL") or "").startswith("postgresql")


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys"
    ensure_key_files(path)
    return path


@pytest.fixture(scope="session")
def test_config(tmp_path_factory, key_dir) -> dict:
    tmp = tmp_path_factory.mktemp("db")
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(tmp),
        "KEY_DIR": str(key_dir),
        "SERVER_NAME": None,
    }


def make_app(test_config: dict, **overrides):
    class Cfg(config_module.TestingConfig):
        pass

    for key, value in {**test_config, **overrides}.items():
        setattr(Cfg, key, value)
    app = create_app(Cfg)
    app.test_client_class = IsolatedClient
    return app


class IsolatedClient(FlaskClient):
    """Runs each request in its own app context, as in production. Without this, requests made while a
    test holds an app context would share `g` (and Flask-Login's cached user) and the test's db session."""

    def open(self, *args, **kwargs):
        def run():
            _cv_app.set(None)
            return super(IsolatedClient, self).open(*args, **kwargs)

        return contextvars.copy_context().run(run)


@pytest.fixture(scope="session")
def app(test_config):
    app = make_app(test_config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        if is_postgres():
            _db.session.execute(text("DROP SCHEMA public CASCADE"))
            _db.session.execute(text("CREATE SCHEMA public"))
            _db.session.commit()
        _db.create_all()
    return app


def empty_tables() -> None:
    _db.session.rollback()
    for table in reversed(_db.metadata.sorted_tables):
        _db.session.execute(table.delete())
    _db.session.commit()


@pytest.fixture()
def db(app):
    with app.app_context():
        yield _db
        _db.session.remove()
        empty_tables()
    limiter.reset()


@pytest.fixture()
def client(app, db):
    return app.test_client()


@pytest.fixture()
def anon_client(app, db):
    return app.test_client()


@dataclass
class Account:
    user: User
    password: str
    totp_secret: str

    @property
    def id(self):
        return self.user.id


@pytest.fixture()
def units(db) -> dict[str, Unit]:
    result = {
        "unga": Unit(code="unga-i-risk", name="Unga i risk", shares_cases=True),
        "lamna": Unit(code="lamna-kriminalitet", name="Stöd för att lämna kriminalitet", shares_cases=True),
        "rvt": Unit(code="relationsvaldsteamet", name="Relationsvåldsteamet", shares_cases=False),
        "falt": Unit(code="faltassistenterna", name="Fältassistenterna", shares_cases=True),
    }
    db.session.add_all(result.values())
    db.session.commit()
    return result


@pytest.fixture()
def make_user(db, units):
    counter = {"n": 0}

    def factory(role: Role = Role.HANDLAGGARE, unit: str | None = "unga", *, mfa: bool = True,
                username: str | None = None, must_change_password: bool = False) -> Account:
        counter["n"] += 1
        username = username or f"{role.value}{counter['n']}"
        unit_obj = units[unit] if unit else None
        if role in (Role.LOGGGRANSKARE, Role.SYSTEMFORVALTARE) and unit == "unga":
            unit_obj = None
        user, password = ops.create_user(None, username=username, display_name=f"Test {role.value.title()} {counter['n']}",
                                         role=role, unit=unit_obj, password=TEST_PASSWORD,
                                         must_change_password=must_change_password)
        db.session.flush()
        secret = ""
        if mfa:
            secret = authlib.new_totp_secret()
            ops.set_demo_totp(user, secret)
        db.session.commit()
        return Account(user, password, secret)

    return factory


class AuthActions:
    """Logs a client in through the real endpoints: password, then a TOTP code."""

    def __init__(self, client):
        self.client = client

    def password_step(self, username: str, password: str, next_url: str | None = None):
        data = {"username": username, "password": password}
        if next_url is not None:
            data["next"] = next_url
        return self.client.post("/login", data=data)

    def code_step(self, code: str):
        return self.client.post("/login/kod", data={"code": code})

    def login(self, account: Account, next_url: str | None = None):
        # A code is accepted once per time step; tests log in many times within one step.
        _db.session.execute(update(User).where(User.id == account.user.id).values(totp_last_counter=None))
        _db.session.commit()
        resp = self.password_step(account.user.username, account.password, next_url)
        assert resp.status_code == 302, resp.status_code
        return self.code_step(authlib.totp_code(account.totp_secret, time.time()))

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture()
def auth(client):
    return AuthActions(client)


@pytest.fixture()
def login_as(app, make_user):
    """login_as(role, unit) -> (client, account): a fresh client logged in as a new user."""

    def factory(role: Role = Role.HANDLAGGARE, unit: str | None = "unga", **kwargs):
        account = make_user(role, unit, **kwargs)
        c = app.test_client()
        resp = AuthActions(c).login(account)
        assert resp.status_code == 302, resp.status_code
        return c, account

    return factory


def audit_events(action: str | None = None, **filters) -> list[AuditEvent]:
    query = _db.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    for key, value in filters.items():
        query = query.where(getattr(AuditEvent, key) == value)
    _db.session.expire_all()
    return list(_db.session.scalars(query))
