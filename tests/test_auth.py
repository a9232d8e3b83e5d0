"""Login hardening: lockout, no user enumeration, one-time codes, recovery codes, timeouts, sessions."""

from __future__ import annotations

import time

import pytest

from caseapp.accounts import operations as ops
from caseapp.accounts.models import Role, User
from caseapp.security import auth as authlib
from tests.conftest import TEST_PASSWORD, AuthActions, audit_events

GENERIC = "Inloggningen misslyckades"


def test_full_login_with_password_and_totp_is_audited(client, auth, make_user):
    account = make_user(Role.HANDLAGGARE)
    resp = auth.password_step(account.user.username, TEST_PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login/kod")
    # Not logged in yet: the start page still redirects to login.
    assert client.get("/").status_code == 302
    resp = auth.code_step(authlib.totp_code(account.totp_secret))
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "Välkommen" in page.get_data(as_text=True)
    [event] = audit_events("login", actor_user_id=account.id)
    assert event.outcome == "ok" and event.details_dict["method"] == "totp"


def test_login_page_says_all_access_is_logged(client):
    body = client.get("/login").get_data(as_text=True)
    assert "All åtkomst loggas" in body
    assert 'lang="sv"' in body


def test_unknown_user_and_wrong_password_give_the_same_answer(client, auth, make_user):
    account = make_user()
    wrong_pw = auth.password_step(account.user.username, "fel-lösenord-123456")
    unknown = auth.password_step("finns.inte", "fel-lösenord-123456")
    assert wrong_pw.status_code == unknown.status_code == 200
    a, b = wrong_pw.get_data(as_text=True), unknown.get_data(as_text=True)
    assert GENERIC in a and GENERIC in b
    # The answers differ only in the echoed username.
    def main_part(html: str) -> str:
        return html[html.index("<main"):html.index("</main>")]

    assert main_part(a) == main_part(b).replace("finns.inte", account.user.username)
    reasons = sorted(e.details_dict["reason"] for e in audit_events("login_failed"))
    assert reasons == ["bad_password", "unknown_user"]
    # The typed username is never stored.
    assert all("finns.inte" not in (e.details or "") for e in audit_events())


def test_lockout_after_repeated_failures(client, auth, make_user, app):
    account = make_user()
    threshold = app.config["LOCKOUT_THRESHOLD"]
    for _ in range(threshold):
        auth.password_step(account.user.username, "fel-lösenord-123456")
    [lock] = audit_events("lockout", actor_user_id=account.id)
    assert lock.outcome == "ok"
    # Even the right password is refused while locked, with the same generic message.
    resp = auth.password_step(account.user.username, TEST_PASSWORD)
    assert resp.status_code == 200 and GENERIC in resp.get_data(as_text=True)
    assert audit_events("login_failed", actor_user_id=account.id)[-1].details_dict["reason"] == "locked"
    # After the lock expires the account works again.
    from caseapp.extensions import db

    u = db.session.get(User, account.id)
    u.locked_until = u.locked_until.replace(year=2000)
    db.session.commit()
    assert AuthActions(client).login(account).status_code == 302


def test_totp_code_is_accepted_once_only(app, make_user):
    account = make_user()
    code = authlib.totp_code(account.totp_secret)
    first = app.test_client()
    a = AuthActions(first)
    a.password_step(account.user.username, TEST_PASSWORD)
    assert a.code_step(code).status_code == 302
    second = app.test_client()
    b = AuthActions(second)
    b.password_step(account.user.username, TEST_PASSWORD)
    resp = b.code_step(code)
    assert resp.status_code == 200 and "redan använts" in resp.get_data(as_text=True)
    assert second.get("/").status_code == 302  # not logged in
    assert audit_events("login_failed", actor_user_id=account.id)[-1].details_dict["reason"] == "bad_totp"


def test_wrong_totp_counts_towards_lockout(client, auth, make_user, app):
    account = make_user()
    auth.password_step(account.user.username, TEST_PASSWORD)
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        auth.code_step("000000" if authlib.totp_code(account.totp_secret) != "000000" else "111111")
    assert audit_events("lockout", actor_user_id=account.id)
    # Now even a right code fails.
    resp = auth.code_step(authlib.totp_code(account.totp_secret))
    assert resp.status_code in (200, 302)
    assert client.get("/").status_code == 302


def test_recovery_code_works_once(app, make_user, db):
    account = make_user()
    user = db.session.get(User, account.id)
    codes = ops.replace_recovery_codes(user)
    db.session.commit()
    c1 = app.test_client()
    AuthActions(c1).password_step(account.user.username, TEST_PASSWORD)
    resp = c1.post("/login/reservkod", data={"code": codes[0].lower()})
    assert resp.status_code == 302
    assert c1.get("/").status_code == 200
    c2 = app.test_client()
    AuthActions(c2).password_step(account.user.username, TEST_PASSWORD)
    resp = c2.post("/login/reservkod", data={"code": codes[0]})
    assert resp.status_code == 200 and "redan använts" in resp.get_data(as_text=True)
    assert c2.get("/").status_code == 302
    [used] = audit_events("recovery_code_used", actor_user_id=account.id)
    assert used.details_dict["remaining"] == len(codes) - 1


def test_recovery_codes_are_stored_hashed(make_user, db):
    account = make_user()
    user = db.session.get(User, account.id)
    codes = ops.replace_recovery_codes(user)
    db.session.commit()
    stored = [rc.code_hash for rc in user.recovery_codes]
    for code in codes:
        assert all(code.encode() not in blob and authlib.normalise_recovery_code(code).encode() not in blob
                   for blob in stored)


def test_idle_timeout_logs_out_and_is_audited(client, auth, make_user):
    account = make_user()
    auth.login(account)
    assert client.get("/").status_code == 200
    with client.session_transaction() as sess:
        sess["last_seen"] = time.time() - 31 * 60
    resp = client.get("/")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get("/").status_code == 302
    [event] = audit_events("session_timeout", actor_user_id=account.id)
    assert event.details_dict["reason"] == "idle"
    assert "inaktivitet" in client.get("/login").get_data(as_text=True)


def test_session_cookie_is_signed_again_only_when_the_session_changes(client, auth, make_user):
    """A page view within LAST_SEEN_STEP of the last recorded activity sends no new cookie; once the step has
    passed, the activity is written (the idle timeout counts from it) and the cookie is sent again."""
    from caseapp import LAST_SEEN_STEP

    account = make_user()
    auth.login(account)
    assert client.get("/").status_code == 200
    resp = client.get("/")
    assert resp.status_code == 200 and "Set-Cookie" not in resp.headers
    with client.session_transaction() as sess:
        before = sess["last_seen"] = time.time() - LAST_SEEN_STEP - 1
    resp = client.get("/")
    assert resp.status_code == 200 and "caseapp_session=" in resp.headers["Set-Cookie"]
    with client.session_transaction() as sess:
        assert sess["last_seen"] > before + LAST_SEEN_STEP


def test_absolute_timeout(client, auth, make_user):
    account = make_user()
    auth.login(account)
    with client.session_transaction() as sess:
        sess["login_at"] = time.time() - 10 * 3600 - 5
    assert client.get("/").status_code == 302
    assert audit_events("session_timeout", actor_user_id=account.id)[0].details_dict["reason"] == "absolute"


def test_password_change_ends_other_sessions(app, make_user):
    account = make_user()
    laptop, phone = app.test_client(), app.test_client()
    AuthActions(laptop).login(account)
    AuthActions(phone).login(account)
    assert phone.get("/").status_code == 200
    resp = laptop.post("/konto/losenord", data={"current": TEST_PASSWORD, "new": "Ny-lang-fras-om-Grimsta-7",
                                               "confirm": "Ny-lang-fras-om-Grimsta-7"})
    assert resp.status_code == 302
    assert laptop.get("/").status_code == 200  # this session continues
    assert phone.get("/").status_code == 302  # the other one has ended
    assert audit_events("password_changed", actor_user_id=account.id)


def test_password_policy(client, auth, make_user):
    account = make_user(username="kim.test")
    auth.login(account)
    for bad, message in [
        ("kort-1", "minst 12"),
        ("password123!", "för vanligt"),
        ("Sommar2024!!!!", "för vanligt"),
        ("kim.test-hemma-2026", "namn"),
    ]:
        resp = client.post("/konto/losenord", data={"current": TEST_PASSWORD, "new": bad, "confirm": bad})
        assert resp.status_code == 422, bad
        assert message in resp.get_data(as_text=True), bad
    assert not audit_events("password_changed")


def test_password_problems_unit():
    assert authlib.password_problems("en lång och ovanlig mening") == []
    assert authlib.password_problems("qwertyuiop12")
    assert authlib.password_problems("aaaaaaaaaaaaaaaa")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example"])
def test_open_redirect_refused(client, auth, make_user, target):
    account = make_user()
    resp = auth.login(account, next_url=target)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_next_to_relative_path_is_followed(client, auth, make_user):
    account = make_user()
    resp = auth.login(account, next_url="/konto/losenord")
    assert resp.headers["Location"] == "/konto/losenord"


def test_disabled_user_cannot_log_in_and_sessions_end(app, make_user, db):
    account = make_user()
    c = app.test_client()
    AuthActions(c).login(account)
    assert c.get("/").status_code == 200
    ops.disable_user(None, db.session.get(User, account.id))
    db.session.commit()
    assert c.get("/").status_code == 302
    c2 = app.test_client()
    resp = AuthActions(c2).password_step(account.user.username, TEST_PASSWORD)
    assert resp.status_code == 200 and GENERIC in resp.get_data(as_text=True)
    assert audit_events("login_failed", actor_user_id=account.id)[-1].details_dict["reason"] == "disabled"


def test_enrolment_shows_qr_svg_and_gives_recovery_codes(client, auth, make_user, db):
    account = make_user(mfa=False)
    resp = auth.password_step(account.user.username, TEST_PASSWORD)
    assert resp.headers["Location"].endswith("/login/aktivera")
    page = client.get("/login/aktivera").get_data(as_text=True)
    assert "<svg" in page and "<path" in page
    user = db.session.get(User, account.id)
    db.session.refresh(user)
    secret = ops.totp_secret(user)
    assert secret and secret.encode() not in user.totp_secret_enc  # stored encrypted
    # Reloading the page keeps the same secret (the phone already scanned it).
    client.get("/login/aktivera")
    db.session.refresh(user)
    assert ops.totp_secret(user) == secret
    resp = client.post("/login/aktivera", data={"code": authlib.totp_code(secret)})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "reservkoder" in body.lower()
    assert client.get("/").status_code == 200
    assert audit_events("mfa_enrolled", actor_user_id=account.id)
    db.session.refresh(user)
    assert len(user.recovery_codes) == authlib.RECOVERY_CODE_COUNT


def test_rehash_on_login_when_parameters_change(app, make_user, db):
    account = make_user()
    user = db.session.get(User, account.id)
    # A hash made with weaker parameters than the configured ones gets upgraded at login.
    from argon2 import PasswordHasher

    user.password_hash = PasswordHasher(time_cost=1, memory_cost=64, parallelism=2).hash(TEST_PASSWORD)
    db.session.commit()
    old = user.password_hash
    AuthActions(app.test_client()).login(account)
    db.session.refresh(user)
    assert user.password_hash != old
    assert "p=1" in user.password_hash


def test_production_hash_parameters():
    hasher = authlib.Passwords(2, 19 * 1024, 1).hasher
    assert hasher.memory_cost >= 19 * 1024 and hasher.time_cost >= 2
    assert hasher.hash("x-y-z-w-v-u-t-s").startswith("$argon2id$")


def test_must_change_password_redirects_first(client, auth, make_user):
    account = make_user(must_change_password=True)
    auth.login(account)
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/konto/losenord")


def test_logout_is_audited_and_ends_the_session(client, auth, make_user):
    account = make_user()
    auth.login(account)
    resp = auth.logout()
    assert resp.status_code == 302
    assert client.get("/").status_code == 302
    assert audit_events("logout", actor_user_id=account.id)


def test_login_rate_limited_per_address(app, make_user):
    c = app.test_client()
    statuses = [c.post("/login", data={"username": f"x{i}", "password": "y" * 12}).status_code for i in range(25)]
    assert 429 in statuses
    page = c.post("/login", data={"username": "x", "password": "y" * 12})
    assert page.status_code == 429 and "För många försök" in page.get_data(as_text=True)


def test_language_switch(client, auth, make_user):
    account = make_user()
    auth.login(account)
    assert "Välkommen" in client.get("/").get_data(as_text=True)
    resp = client.post("/language", data={"lang": "en", "next": "/"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    body = client.get("/").get_data(as_text=True)
    assert "Welcome" in body and 'lang="en"' in body
    client.post("/language", data={"lang": "sv", "next": "https://evil.example/"})
    assert "Välkommen" in client.get("/").get_data(as_text=True)


def test_login_throttling_shares_state_through_redis(test_config, db):
    """With RATELIMIT_STORAGE_URI pointing at Redis (several app servers), the per-address limit holds across
    app instances. Skipped only where no Redis answers; CI starts one."""
    import os
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        if os.environ.get("CI"):
            pytest.fail("Redis is not running in CI")
        pytest.skip("no Redis on 127.0.0.1:6379")
    from tests.conftest import make_app

    prefix = f"caseapp-test-{os.getpid()}-{time.time_ns()}"
    cfg = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0", "RATELIMIT_KEY_PREFIX": prefix,
           "LOGIN_RATE_LIMIT": "5 per minute"}
    first, second = make_app(test_config, **cfg), make_app(test_config, **cfg)
    statuses = []
    for i in range(6):
        app = first if i % 2 == 0 else second
        with app.app_context():
            statuses.append(app.test_client().post("/login", data={"username": f"x{i}", "password": "y" * 12})
                            .status_code)
    assert statuses[:5] == [200] * 5 and statuses[5] == 429


def test_start_page_counts_the_unused_recovery_codes(client, auth, make_user, db):
    account = make_user()
    user = db.session.get(User, account.id)
    codes = ops.replace_recovery_codes(user)
    db.session.commit()
    auth.login(account)
    assert f"<dd>{len(codes)}</dd>" in client.get("/").get_data(as_text=True)
    user = db.session.get(User, account.id)
    assert ops.use_recovery_code(user, codes[0])
    db.session.commit()
    assert f"<dd>{len(codes) - 1}</dd>" in client.get("/").get_data(as_text=True)
    assert ops.unused_recovery_codes(user) == len(codes) - 1


def test_the_start_pages_code_count_comes_with_the_user_and_is_asked_again_after_a_change(
        app, client, auth, make_user, db):
    """The signed-in user's statement carries the count of unused recovery codes, so the start page asks no
    statement of its own for it; within a request, a count kept from the user's load is not used once anything
    was written (a code used, say): the database is asked again."""
    from sqlalchemy import event

    account = make_user()
    user = db.session.get(User, account.id)
    codes = ops.replace_recovery_codes(user)
    db.session.commit()
    auth.login(account)
    count_sql = str(ops._unused_codes_statement().compile(db.engine))
    statements: list[str] = []

    def listener(*args, statements=statements):
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = client.get("/").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert f"<dd>{len(codes)}</dd>" in page
    assert statements and not any(s.strip() == count_sql.strip() for s in statements)
    with app.test_request_context("/"):
        user = db.session.get(User, account.id)
        ops.remember_unused_recovery_codes(user, len(codes))
        assert ops.unused_recovery_codes(user) == len(codes)
        assert ops.use_recovery_code(user, codes[0])  # (pending: the kept count is not used)
        assert ops.unused_recovery_codes(user) == len(codes) - 1
        ops.remember_unused_recovery_codes(user, len(codes) - 1)
        assert ops.use_recovery_code(user, codes[1])
        db.session.flush()  # (drops the kept count)
        assert ops.unused_recovery_codes(user) == len(codes) - 2
        db.session.rollback()
