"""User administration by the systemförvaltare: create, edit, disable, reset second factor; all audited."""

from __future__ import annotations

import re

from caseapp.accounts.models import Role, User
from tests.conftest import AuthActions, audit_events


def test_admin_lists_users_and_the_view_is_audited(login_as):
    c, admin = login_as(Role.SYSTEMFORVALTARE, None)
    body = c.get("/admin/anvandare").get_data(as_text=True)
    assert admin.user.username in body
    assert audit_events("list", actor_user_id=admin.id, object_type="user")


def test_admin_creates_user_who_must_change_password_and_enrol(app, login_as, units, db):
    c, admin = login_as(Role.SYSTEMFORVALTARE, None)
    resp = c.post("/admin/anvandare/ny", data={"username": "ny.handlaggare", "display_name": "Ny Handläggare",
                                               "role": "handlaggare", "unit": str(units["unga"].id)})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    password = re.search(r'<code class="secret">([^<]+)</code>', body).group(1)
    user = db.session.scalar(db.select(User).where(User.username == "ny.handlaggare"))
    assert user.must_change_password and not user.mfa_enrolled
    assert password not in user.password_hash
    [event] = audit_events("user_created", object_id=str(user.id))
    assert event.actor_user_id == admin.id
    # First login: password, then enrolment of the second factor.
    newbie = app.test_client()
    step = AuthActions(newbie).password_step("ny.handlaggare", password)
    assert step.headers["Location"].endswith("/login/aktivera")


def test_create_user_bad_input_writes_nothing(login_as, units, db):
    c, _admin = login_as(Role.SYSTEMFORVALTARE, None)
    before = db.session.scalar(db.select(db.func.count(User.id)))
    cases = [
        {"username": "", "display_name": "X", "role": "handlaggare", "unit": str(units["unga"].id)},
        {"username": "a b<script>", "display_name": "X", "role": "handlaggare", "unit": str(units["unga"].id)},
        {"username": "ok.name", "display_name": "X", "role": "kung", "unit": str(units["unga"].id)},
        {"username": "ok.name", "display_name": "X", "role": "handlaggare", "unit": ""},
        {"username": "ok.name", "display_name": "X" * 500, "role": "handlaggare", "unit": str(units["unga"].id)},
        {"username": "ok.name", "display_name": "X", "role": "handlaggare", "unit": "not-a-uuid"},
    ]
    for data in cases:
        resp = c.post("/admin/anvandare/ny", data=data)
        assert resp.status_code == 422, data
        assert "<script>" not in resp.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == before
    assert not audit_events("user_created", actor_user_id=_admin.id)


def test_duplicate_username_refused(login_as, make_user, units):
    c, _ = login_as(Role.SYSTEMFORVALTARE, None)
    existing = make_user(Role.HANDLAGGARE)
    resp = c.post("/admin/anvandare/ny", data={"username": existing.user.username.upper(), "display_name": "X",
                                               "role": "handlaggare", "unit": str(units["unga"].id)})
    assert resp.status_code == 422 and "upptaget" in resp.get_data(as_text=True)


def test_edit_role_and_unit_ends_sessions(app, login_as, make_user, units, db):
    c, admin = login_as(Role.SYSTEMFORVALTARE, None)
    worker = make_user(Role.HANDLAGGARE, "unga")
    wc = app.test_client()
    AuthActions(wc).login(worker)
    assert wc.get("/").status_code == 200
    resp = c.post(f"/admin/anvandare/{worker.id}", data={"role": "enhetschef", "unit": str(units["lamna"].id)})
    assert resp.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, worker.id)
    assert user.role is Role.ENHETSCHEF and user.unit_id == units["lamna"].id
    assert wc.get("/").status_code == 302
    assert audit_events("user_updated", object_id=str(worker.id))


def test_disable_enable_and_reset_mfa(app, login_as, make_user, db):
    c, admin = login_as(Role.SYSTEMFORVALTARE, None)
    worker = make_user(Role.HANDLAGGARE, "unga")
    wc = app.test_client()
    AuthActions(wc).login(worker)
    assert c.post(f"/admin/anvandare/{worker.id}/inaktivera").status_code == 302
    assert wc.get("/").status_code == 302
    assert audit_events("user_disabled", object_id=str(worker.id))
    assert c.post(f"/admin/anvandare/{worker.id}/aktivera").status_code == 302
    assert audit_events("user_enabled", object_id=str(worker.id))
    assert c.post(f"/admin/anvandare/{worker.id}/aterstall-tvafaktor").status_code == 302
    db.session.expire_all()
    user = db.session.get(User, worker.id)
    assert not user.mfa_enrolled and user.totp_secret_enc is None
    assert audit_events("mfa_reset", object_id=str(worker.id))
    step = AuthActions(app.test_client()).password_step(worker.user.username, worker.password)
    assert step.headers["Location"].endswith("/login/aktivera")


def test_admin_cannot_disable_self(login_as, db):
    c, admin = login_as(Role.SYSTEMFORVALTARE, None)
    c.post(f"/admin/anvandare/{admin.id}/inaktivera")
    db.session.expire_all()
    assert db.session.get(User, admin.id).disabled_at is None


def test_unknown_user_id_is_404_and_audited(login_as):
    import uuid

    c, admin = login_as(Role.SYSTEMFORVALTARE, None)
    missing = uuid.uuid4()
    assert c.get(f"/admin/anvandare/{missing}").status_code == 404
    assert audit_events("denied", object_id=str(missing))
