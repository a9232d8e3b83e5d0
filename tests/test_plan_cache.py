"""PostgreSQL connections plan each prepared statement once (DB_PLAN_CACHE_MODE, caseapp.extensions): the setting
reaches every new connection through its start-up options, keeps options the URL already has, can be left to
the server ("auto"), and an unknown value stops the app at start."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import config as config_module
from caseapp.extensions import add_plan_cache_mode
from tests.conftest import database_url, is_postgres, make_app

needs_postgres = pytest.mark.skipif(not is_postgres(), reason="a PostgreSQL setting")


def _show(engine, name: str) -> str:
    with engine.connect() as conn:
        return conn.execute(text(f"SHOW {name}")).scalar()


@needs_postgres
def test_the_apps_connections_plan_each_statement_once(app):
    from caseapp.extensions import db

    with app.app_context():
        db.engine.dispose()  # (new connections: the option is given at connect)
        assert db.session.execute(text("SHOW plan_cache_mode")).scalar() == "force_generic_plan"
        db.session.rollback()


@needs_postgres
def test_auto_leaves_the_servers_setting(tmp_path):
    engine = create_engine(database_url(tmp_path))
    server_default = _show(engine, "plan_cache_mode")
    engine.dispose()
    engine = create_engine(database_url(tmp_path))
    add_plan_cache_mode(engine, "auto")
    assert _show(engine, "plan_cache_mode") == server_default
    engine.dispose()


@needs_postgres
def test_the_option_is_added_to_options_the_url_already_has(tmp_path):
    url = make_url(database_url(tmp_path)).update_query_dict({"options": "-c statement_timeout=4321"})
    engine = create_engine(url)
    add_plan_cache_mode(engine, "force_custom_plan")
    add_plan_cache_mode(engine, "force_custom_plan")  # (once per engine)
    assert _show(engine, "plan_cache_mode") == "force_custom_plan"
    assert _show(engine, "statement_timeout") == "4321ms"
    engine.dispose()


def test_sqlite_engines_are_left_alone(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    add_plan_cache_mode(engine, "force_generic_plan")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()


def test_an_unknown_mode_stops_the_app(test_config):
    with pytest.raises(config_module.ConfigError, match="DB_PLAN_CACHE_MODE"):
        make_app(test_config, DB_PLAN_CACHE_MODE="generic")


def test_the_mode_can_be_set_from_the_environment(monkeypatch):
    monkeypatch.setenv("DB_PLAN_CACHE_MODE", "auto")
    config: dict = {"DB_PLAN_CACHE_MODE": "force_generic_plan", "SESSION_COOKIE_SECURE": True,
                    "MFA_REQUIRED": True, "TRUSTED_PROXY_COUNT": 0}
    config_module.BaseConfig.apply_env(config)
    assert config["DB_PLAN_CACHE_MODE"] == "auto"
