"""The request's one commit (caseapp._register_hooks._finish): it does not expire the objects the request loaded
(nothing reads them after it, and the session is removed at teardown), the session's own setting is kept for
every other commit, and the next request reads the database afresh."""

from __future__ import annotations

from sqlalchemy import inspect, update

from caseapp.accounts.models import User
from caseapp.extensions import db


def _watch_teardown(app, seen: list):
    def look(_exc):
        session = db.session()
        states = [inspect(obj) for obj in session.identity_map.values()]
        seen.append({"objects": len(states), "expired": sum(bool(s.expired_attributes) for s in states),
                     "expire_on_commit": session.expire_on_commit})

    app.teardown_request_funcs.setdefault(None, []).insert(0, look)
    return look


def test_the_last_commit_leaves_the_objects_loaded_and_the_setting_as_it_was(app, login_as):
    client, _account = login_as()
    seen: list = []
    look = _watch_teardown(app, seen)
    try:
        assert client.get("/").status_code == 200
    finally:
        app.teardown_request_funcs[None].remove(look)
    assert seen and seen[-1]["objects"] > 0
    assert seen[-1]["expired"] == 0
    assert seen[-1]["expire_on_commit"] is True


def test_the_next_request_reads_what_changed_in_between(app, login_as):
    client, account = login_as()
    assert "Första namnet" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(User).where(User.id == account.id).values(display_name="Första namnet"))
        db.session.commit()
    assert "Första namnet" in client.get("/").get_data(as_text=True)
    with app.app_context():
        db.session.execute(update(User).where(User.id == account.id).values(display_name="Andra namnet"))
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Andra namnet" in page and "Första namnet" not in page


def test_a_commit_outside_the_request_hook_still_expires(app, db, units):
    user = User(username="kvar-ej", display_name="Före", role="handlaggare", unit_id=units["unga"].id,
                password_hash="x")
    db.session.add(user)
    db.session.commit()
    assert inspect(user).expired  # the session's setting is untouched for commits of the CLI and the tests
