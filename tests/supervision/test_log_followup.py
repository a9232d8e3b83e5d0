"""Log follow-up: who sees which events, export, attention list, monthly samples; all of it audited."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from caseapp.accounts.models import Role
from caseapp.security.audit import AuditEvent
from caseapp.supervision import operations as ops
from caseapp.supervision.models import AttentionReview, LogSample
from caseapp.timeutil import STOCKHOLM, utcnow
from tests.conftest import audit_events


def add_event(db, user, *, action="view", when: datetime | None = None, person=None, object_id=None,
              outcome="ok", object_type="person"):
    event = AuditEvent(occurred_at=when or utcnow(), actor_user_id=user.id, actor_unit_id=user.unit_id,
                       actor_role=str(user.role), action=action, outcome=outcome, object_type=object_type,
                       object_id=object_id, subject_person_id=person)
    db.session.add(event)
    db.session.commit()
    return event


def local(y, m, d, h, mi=0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=STOCKHOLM).astimezone(UTC).replace(tzinfo=None)


def test_unit_manager_sees_only_own_unit_and_worker_sees_nothing(login_as, make_user, db):
    chief_c, chief = login_as(Role.ENHETSCHEF, "unga")
    own = make_user(Role.HANDLAGGARE, "unga")
    other = make_user(Role.HANDLAGGARE, "lamna")
    e_own = add_event(db, own.user, object_id="own-1")
    e_other = add_event(db, other.user, object_id="other-1")
    body = chief_c.get("/logg/").get_data(as_text=True)
    assert '<code class="id">own-1</code>' in body and '<code class="id">other-1</code>' not in body
    # Filtering on the other unit's event does not leak either.
    body = chief_c.get(f"/logg/?object_id={e_other.object_id}").get_data(as_text=True)
    assert '<code class="id">other-1</code>' not in body and "Inga händelser" in body
    assert e_own.id
    worker_c, worker = login_as(Role.HANDLAGGARE, "unga")
    resp = worker_c.get("/logg/")
    assert resp.status_code == 403
    assert audit_events("denied", actor_user_id=worker.id)


def test_auditor_sees_all_units_but_no_content(login_as, make_user, db):
    aud_c, auditor = login_as(Role.LOGGGRANSKARE, None)
    a = make_user(Role.HANDLAGGARE, "unga")
    b = make_user(Role.RELATIONSVALDSTEAM, "rvt")
    person = uuid.uuid4()
    add_event(db, a.user, object_id="a-1", person=person)
    add_event(db, b.user, object_id="b-1")
    body = aud_c.get("/logg/").get_data(as_text=True)
    assert '<code class="id">a-1</code>' in body and '<code class="id">b-1</code>' in body and str(person) in body
    assert audit_events("view", actor_user_id=auditor.id, object_type="audit_log")


@pytest.mark.parametrize("role", [Role.HANDLAGGARE, Role.RELATIONSVALDSTEAM, Role.FALTASSISTENT, Role.SYSTEMFORVALTARE])
def test_other_roles_refused_everywhere(app, login_as, role):
    c, account = login_as(role, "unga")
    for url in ["/logg/", "/logg/export.csv", "/logg/person", "/logg/uppmarksamhet", "/logg/stickprov",
                f"/logg/stickprov/{uuid.uuid4()}"]:
        assert c.get(url).status_code == 403, url
    assert c.post("/logg/uppmarksamhet/1/denied").status_code == 403


def test_filter_validation_gives_clear_messages(login_as):
    c, _ = login_as(Role.LOGGGRANSKARE, None)
    resp = c.get("/logg/?person=inte-ett-id&date_from=2026-05-01&date_to=2026-04-01&action=hack")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Ange ett person-id" in body and "Slutdatumet ligger före startdatumet" in body


def test_export_is_csv_neutralised_and_audited(login_as, make_user, db):
    c, chief = login_as(Role.ENHETSCHEF, "unga")
    worker = make_user(Role.HANDLAGGARE, "unga")
    add_event(db, worker.user, object_id="=HYPERLINK(\"http://x\")")
    add_event(db, worker.user, object_id="+cmd")
    resp = c.get("/logg/export.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://x\")" in cells and "'+cmd" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)
    [export] = audit_events("export", actor_user_id=chief.id)
    assert export.details_dict["rows"] >= 2 and export.details_dict["format"] == "csv"


def test_neutralise():
    assert ops.neutralise("=1+1") == "'=1+1"
    assert ops.neutralise("-2") == "'-2"
    assert ops.neutralise("@SUM") == "'@SUM"
    assert ops.neutralise("Anna") == "Anna"
    assert ops.neutralise(None) == ""


def test_who_has_read(login_as, make_user, db):
    c, chief = login_as(Role.ENHETSCHEF, "unga")
    w1, w2 = make_user(Role.HANDLAGGARE, "unga"), make_user(Role.HANDLAGGARE, "unga")
    person = uuid.uuid4()
    for _ in range(3):
        add_event(db, w1.user, person=person)
    add_event(db, w2.user, person=person, action="search")
    add_event(db, w2.user, person=uuid.uuid4())
    body = c.get(f"/logg/person?person={person}").get_data(as_text=True)
    assert w1.user.display_name in body and w2.user.display_name in body
    [ev] = audit_events("view", actor_user_id=chief.id, subject_person_id=person)
    assert ev.details_dict["report"] == "who_has_read"


def test_attention_list_refusals_after_hours_and_volume(app, login_as, make_user, db):
    c, chief = login_as(Role.ENHETSCHEF, "unga")
    worker = make_user(Role.HANDLAGGARE, "unga")
    refused = add_event(db, worker.user, action="denied", outcome="denied", object_type="endpoint",
                        object_id="admin.users")
    today = datetime.now(STOCKHOLM)
    night = local(today.year, today.month, today.day, 3) - timedelta(days=2)
    late = add_event(db, worker.user, when=night, object_id="late-read")
    # Volume: 5 ordinary days with 2 reads each, then one day with 40 reads.
    busy_worker = make_user(Role.HANDLAGGARE, "unga")
    base = local(today.year, today.month, today.day, 10) - timedelta(days=8)
    for d in range(5):
        for i in range(2):
            add_event(db, busy_worker.user, when=base + timedelta(days=d, minutes=i))
    burst = [add_event(db, busy_worker.user, when=base + timedelta(days=6, minutes=i)) for i in range(40)]
    items = {(i.kind, i.event.id) for i in ops.attention_items(chief.user)}
    assert ("denied", refused.id) in items
    assert ("after_hours", late.id) in items
    assert ("volume", burst[0].id) in items
    page = c.get("/logg/uppmarksamhet").get_data(as_text=True)
    assert "Nekad åtkomst" in page and "Åtkomst utanför arbetstid" in page and "Ovanligt många läsningar" in page


def test_mark_reviewed_stores_comment_encrypted(app, login_as, make_user, db):
    c, chief = login_as(Role.ENHETSCHEF, "unga")
    worker = make_user(Role.HANDLAGGARE, "unga")
    refused = add_event(db, worker.user, action="denied", outcome="denied", object_type="endpoint")
    comment = "Pratat med Kalle Karlsson om försöket"
    resp = c.post(f"/logg/uppmarksamhet/{refused.id}/denied", data={"comment": comment})
    assert resp.status_code == 302
    review = db.session.scalar(db.select(AttentionReview))
    assert comment.encode() not in review.comment_enc
    assert "Kalle" not in c.get("/logg/uppmarksamhet").get_data(as_text=True)  # reviewed items hidden
    assert comment in c.get("/logg/uppmarksamhet?visa=alla").get_data(as_text=True)
    assert audit_events("review", actor_user_id=chief.id, object_type="attention_item")
    # Twice is refused, nothing written.
    c.post(f"/logg/uppmarksamhet/{refused.id}/denied", data={"comment": "igen"})
    assert db.session.scalar(db.select(db.func.count(AttentionReview.id))) == 1


def test_review_of_event_outside_scope_is_refused(login_as, make_user, db):
    c, chief = login_as(Role.ENHETSCHEF, "unga")
    other = make_user(Role.HANDLAGGARE, "lamna")
    foreign = add_event(db, other.user, action="denied", outcome="denied")
    assert c.post(f"/logg/uppmarksamhet/{foreign.id}/denied", data={"comment": "x"}).status_code == 404
    assert audit_events("denied", actor_user_id=chief.id, object_type="audit_event")
    assert db.session.scalar(db.select(db.func.count(AttentionReview.id))) == 0


def _last_month_event_times(n: int) -> list[datetime]:
    first = date.today().replace(day=1)
    last_month = first - timedelta(days=1)
    return [local(last_month.year, last_month.month, 1 + (i % 20), 9 + (i % 8)) for i in range(n)]


def test_monthly_sample_review_and_sign_off(app, login_as, make_user, db):
    c, chief = login_as(Role.ENHETSCHEF, "unga")
    worker = make_user(Role.HANDLAGGARE, "unga")
    for when in _last_month_event_times(30):
        add_event(db, worker.user, when=when)
    page = c.get("/logg/stickprov")
    assert page.status_code == 200
    sample = db.session.scalar(db.select(LogSample).where(LogSample.unit_id == chief.user.unit_id))
    assert sample.size == app.config["LOG_SAMPLE_SIZE"] and sample.population == 30
    assert sample.period == ops.previous_period()
    # Signing before every item is judged is refused.
    resp = c.post(f"/logg/stickprov/{sample.id}/signera", data={"conclusion": "no_deviation"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert db.session.get(LogSample, sample.id).signed_at is None
    for n, item in enumerate(sample.items):
        finding = "deviation" if n == 0 else "ok"
        assert c.post(f"/logg/stickprov/{sample.id}/post/{item.id}",
                      data={"finding": finding, "note": "Kontrollerat"}).status_code == 302
    # A deviation cannot be signed off as "no deviations".
    c.post(f"/logg/stickprov/{sample.id}/signera", data={"conclusion": "no_deviation"})
    db.session.expire_all()
    assert db.session.get(LogSample, sample.id).signed_at is None
    resp = c.post(f"/logg/stickprov/{sample.id}/signera",
                  data={"conclusion": "deviation_followed_up", "comment": "Samtal bokat"})
    assert resp.status_code == 302
    db.session.expire_all()
    signed = db.session.get(LogSample, sample.id)
    assert signed.signed_by == chief.id and b"Samtal" not in signed.comment_enc
    # Signed: no more changes.
    c.post(f"/logg/stickprov/{sample.id}/post/{sample.items[1].id}", data={"finding": "deviation"})
    db.session.expire_all()
    assert db.session.get(LogSample, sample.id).items[1].finding == "ok"
    assert audit_events("sign", actor_user_id=chief.id, object_type="log_sample")
    assert len(audit_events("review", actor_user_id=chief.id, object_type="log_sample_item")) == sample.size
    assert "Samtal bokat" in c.get(f"/logg/stickprov/{sample.id}").get_data(as_text=True)


def test_sample_access_auditor_reads_other_chief_refused(app, login_as, make_user, db):
    c, chief = login_as(Role.ENHETSCHEF, "unga")
    c.get("/logg/stickprov")
    sample = db.session.scalar(db.select(LogSample).where(LogSample.unit_id == chief.user.unit_id))
    aud_c, _ = login_as(Role.LOGGGRANSKARE, None)
    assert aud_c.get(f"/logg/stickprov/{sample.id}").status_code == 200
    assert aud_c.post(f"/logg/stickprov/{sample.id}/signera", data={"conclusion": "no_deviation"}).status_code == 403
    other_c, other = login_as(Role.ENHETSCHEF, "lamna")
    assert other_c.get(f"/logg/stickprov/{sample.id}").status_code == 404
    assert audit_events("denied", actor_user_id=other.id, object_type="log_sample")


def test_sample_of_future_month_refused(login_as, db):
    c, _ = login_as(Role.ENHETSCHEF, "unga")
    resp = c.post("/logg/stickprov", data={"period": "2999-01"})
    assert resp.status_code == 422 and "inte börjat" in resp.get_data(as_text=True)
    resp = c.post("/logg/stickprov", data={"period": "13-2026"})
    assert resp.status_code == 422


def test_cli_draws_monthly_samples_for_every_unit(app, make_user, units, db):
    from caseapp.cli import cli

    worker = make_user(Role.HANDLAGGARE, "unga")
    for when in _last_month_event_times(5):
        add_event(db, worker.user, when=when)
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["supervision", "sample"])
    assert result.exit_code == 0, result.output
    assert "unga-i-risk" in result.output and "5 of      5" in result.output
    again = runner.invoke(cli, ["supervision", "sample"])
    assert again.exit_code == 0
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count(LogSample.id))) == len(units)
