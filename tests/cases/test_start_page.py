"""The worker's start page: how many open cases, which are shown (the newest few), co-assigned cases counted."""

from __future__ import annotations

from caseapp.accounts.models import Role
from caseapp.cases import operations as ops
from caseapp.extensions import db
from tests.cases.conftest import PNR_ADULT, PNR_ADULT2


def test_my_cases_total_and_newest_first(app, make_user, catalogue, case_factory, person_factory):
    worker = make_user(Role.HANDLAGGARE, "unga").user
    colleague = make_user(Role.HANDLAGGARE, "unga").user
    chef = make_user(Role.ENHETSCHEF, "unga").user
    anna = person_factory(worker, identity=PNR_ADULT)
    own = [case_factory(worker, anna) for _ in range(ops.START_ITEMS + 2)]
    # a colleague's case the worker is co-assigned to, and one the worker is not on at all
    bo = person_factory(colleague, identity=PNR_ADULT2, given_name="Bo")
    shared = case_factory(colleague, bo)
    case_factory(colleague, bo)
    with app.test_request_context("/"):
        ops.assign(chef, shared, worker.id)
        db.session.commit()
    closed = own[0]
    with app.test_request_context("/"):
        ops.transition(worker, closed, "avslutad", "Klart.")
        db.session.commit()

    with app.test_request_context("/"):
        panels = ops.start_panels(worker)
        # open: the worker's own cases but the closed one, plus the co-assigned one
        assert panels.my_total == len(own) - 1 + 1
        shown = [row.case for row in panels.my_cases]
        assert len(shown) == ops.START_ITEMS
        assert closed not in shown
        assert [c.updated_at for c in shown] == sorted((c.updated_at for c in shown), reverse=True)
        db.session.rollback()


def test_follow_ups_due_soon_are_shown_with_their_intervention_and_person(app, client, auth, make_user, catalogue,
                                                                          case_factory, person_factory):
    from datetime import timedelta

    from caseapp.cases.models import InterventionType

    account = make_user(Role.HANDLAGGARE, "unga")
    worker = account.user
    anna = person_factory(worker, identity=PNR_ADULT, given_name="Annika")
    case = case_factory(worker, anna)
    with app.test_request_context("/"):
        itype = db.session.scalar(db.select(InterventionType).where(InterventionType.code == "motivation"))
        item = ops.add_intervention(worker, case, ops.InterventionData(
            itype.id, "pagaende", ops.today(), None, worker.id, "Mål.", "Plan.", None, None))
        db.session.flush()
        soon = ops.add_follow_up(worker, item, ops.today() + timedelta(days=3))
        ops.add_follow_up(worker, item, ops.today() + timedelta(days=ops.FOLLOW_UP_HORIZON + 20))
        done = ops.add_follow_up(worker, item, ops.today() + timedelta(days=1))
        db.session.flush()
        ops.complete_follow_up(worker, item, done.id, ops.today(), "Klart.")
        db.session.commit()
        item_id, type_name = item.id, itype.name
    with app.test_request_context("/"):
        panels = ops.start_panels(worker)
        assert [(f.intervention_id, f.due_on, f.overdue) for f in panels.follow_ups] == [
            (item_id, soon.due_on, False)]
        assert panels.follow_ups[0].type.name == type_name
        assert panels.follow_ups[0].person.given_name == "Annika"
        db.session.rollback()
    auth.login(account)
    page = client.get("/").get_data(as_text=True)
    assert f'href="/insatser/{item_id}"' in page and type_name in page and soon.due_on.isoformat() in page


def test_overdue_counts_own_and_co_assigned_cases_most_overdue_first_and_the_manager_sees_the_unit(
        app, make_user, catalogue, case_factory, person_factory):
    from datetime import timedelta

    from caseapp.cases.workflow import FocusArea, Intake
    from tests.cases.conftest import PNR_CHILD, PNR_CHILD2

    worker = make_user(Role.HANDLAGGARE, "unga").user
    colleague = make_user(Role.HANDLAGGARE, "unga").user
    chef = make_user(Role.ENHETSCHEF, "unga").user
    lo = person_factory(worker, identity=PNR_CHILD, given_name="Lo")
    mio = person_factory(colleague, identity=PNR_CHILD2, given_name="Mio")
    # A report about a child: skyddsbedömning due the next day, so every one of these is overdue.
    def report(actor, person, days_ago):
        return case_factory(actor, person, focus=FocusArea.UNGA_I_RISK, intake=Intake.ANMALAN,
                            received_on=ops.today() - timedelta(days=days_ago))

    own = [report(worker, lo, 20 + n) for n in range(ops.START_ITEMS + 2)]
    shared = report(colleague, mio, 60)  # the most overdue of all, co-assigned to the worker
    report(colleague, mio, 70)  # the colleague's alone
    report(worker, lo, 0)  # received today: not overdue yet
    with app.test_request_context("/"):
        ops.assign(chef, shared, worker.id)
        db.session.commit()

    with app.test_request_context("/"):
        panels = ops.start_panels(worker)
        assert panels.overdue_total == len(own) + 1
        shown = [o.case for o in panels.overdue]
        assert len(shown) == ops.START_ITEMS and shown[0] == shared
        assert [c.next_due_on for c in shown] == sorted(c.next_due_on for c in shown)
        assert panels.my_total == len(own) + 2  # and the one received today
        db.session.rollback()
    with app.test_request_context("/"):
        panels = ops.start_panels(chef)
        assert panels.overdue_total == len(own) + 2  # the unit's, the colleague's own one too
        assert [o.case.next_due_on for o in panels.overdue] == sorted(o.case.next_due_on for o in panels.overdue)
        db.session.rollback()


def test_the_soonest_open_follow_ups_of_ongoing_interventions_are_shown_in_order(app, make_user, catalogue,
                                                                                 case_factory, person_factory):
    """The panel's eight: open follow-ups within the horizon of the worker's ongoing interventions, soonest first
    (ties by id), over several interventions with more than eight each; done ones, ones past the horizon, those
    of an ended intervention and those of another worker's intervention are left out. On PostgreSQL the
    statement takes each intervention's soonest through a LATERAL subquery; the rows must be the same."""
    from datetime import timedelta

    from caseapp.cases.catalogue import InterventionStatus
    from caseapp.cases.models import Intervention, InterventionFollowUp, InterventionType

    worker = make_user(Role.HANDLAGGARE, "unga").user
    other = make_user(Role.HANDLAGGARE, "unga").user
    case = case_factory(worker)
    with app.test_request_context("/"):
        itype = db.session.scalar(db.select(InterventionType).where(InterventionType.code == "motivation"))
        items = [ops.add_intervention(worker, case, ops.InterventionData(
            itype.id, "pagaende", ops.today() - timedelta(days=30), None, responsible, "Mål.", "Plan.", None, None))
            for responsible in (worker.id, worker.id, worker.id, other.id)]
        db.session.flush()
        expected = []
        for n, item in enumerate(items):
            for day in range(0, 20, 2):  # ten each, interleaved between the interventions
                due = ops.today() + timedelta(days=day - 3 + n)
                follow_up = ops.add_follow_up(worker, item, due)
                db.session.flush()
                if day == 4:
                    ops.complete_follow_up(worker, item, follow_up.id, ops.today(), "Klart.")
                elif n < 2 and due <= ops.today() + timedelta(days=ops.FOLLOW_UP_HORIZON):
                    expected.append((due, follow_up.id, item.id))
        items[2].status = InterventionStatus.ENDED  # (its follow-ups are no longer shown)
        db.session.commit()
        expected = [(due, item_id) for due, _id, item_id in sorted(expected)[:ops.START_ITEMS]]
    with app.test_request_context("/"):
        panels = ops.start_panels(worker)
        assert [(f.due_on, f.intervention_id) for f in panels.follow_ups] == expected
        assert [f.overdue for f in panels.follow_ups] == [due < ops.today() for due, _i in expected]
        shown_ids = db.session.scalars(db.select(InterventionFollowUp.intervention_id).where(
            InterventionFollowUp.intervention_id.in_([i for _d, i in expected]))
            .order_by(InterventionFollowUp.id)).all()
        assert set(shown_ids) <= {items[0].id, items[1].id}
        assert db.session.get(Intervention, items[2].id).status is InterventionStatus.ENDED
        db.session.rollback()


def test_the_start_pages_people_come_with_their_cases_and_follow_ups(app, make_user, catalogue, case_factory,
                                                                       person_factory, monkeypatch):
    """Names in every panel, no statement of their own for the people of the cases and follow-ups, and the
    others (a draft on a case not in the list) still read, by people_by_id."""
    from datetime import timedelta

    from sqlalchemy import event

    from caseapp.cases.models import InterventionType

    worker = make_user(Role.HANDLAGGARE, "unga").user
    anna = person_factory(worker, identity=PNR_ADULT, given_name="Annika")
    bo = person_factory(worker, identity=PNR_ADULT2, given_name="Bosse")
    older = case_factory(worker, anna)
    with app.test_request_context("/"):
        ops.create_entry(worker, db.session.get(type(older), older.id),
                         ops.EntryData("anteckning", ops.today(), "Utkast."))
        db.session.commit()
    newer = case_factory(worker, bo)
    with app.test_request_context("/"):
        itype = db.session.scalar(db.select(InterventionType).where(InterventionType.code == "motivation"))
        item = ops.add_intervention(worker, db.session.get(type(newer), newer.id), ops.InterventionData(
            itype.id, "pagaende", ops.today(), None, worker.id, "Mål.", "Plan.", None, None))
        db.session.flush()
        ops.add_follow_up(worker, item, ops.today() + timedelta(days=2))
        db.session.commit()

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def people_statements():
        return [s for s in statements if s.lstrip().startswith("SELECT") and "FROM people \nWHERE people.id" in s]

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with app.test_request_context("/"):
            panels = ops.start_panels(worker)
            assert {row.person.given_name for row in panels.my_cases} == {"Annika", "Bosse"}
            assert [f.person.given_name for f in panels.follow_ups] == ["Bosse"]
            assert [p.given_name for _d, p, _c in panels.drafts] == ["Annika"]
            assert people_statements() == []
            db.session.rollback()
        # With one case per list, the draft's case is not listed: its person is read on its own.
        monkeypatch.setattr(ops, "START_ITEMS", 1)
        monkeypatch.setattr(ops, "_START_STATEMENTS", {})
        ops._stmt.cache_clear()
        statements.clear()
        with app.test_request_context("/"):
            panels = ops.start_panels(worker)
            assert [row.person.given_name for row in panels.my_cases] == ["Bosse"]
            assert [p.given_name for _d, p, _c in panels.drafts] == ["Annika"]
            assert len(people_statements()) == 1
            db.session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        ops._stmt.cache_clear()


def test_the_follow_ups_are_read_from_the_indexes_alone(app, make_user):
    """The follow-ups statement needs no table row of an intervention or a follow-up: a worker's interventions
    come from ix_interventions_responsible_page and each one's open follow-ups due by the horizon, in order,
    from ix_intervention_follow_ups_due (migration 0015). A column added to the statement outside those indexes
    puts a table read per intervention back (on the bench data: 120 table pages for a worker's 147
    interventions on PostgreSQL). PostgreSQL is told not to scan the tables, as it would in a tiny test database,
    nor to take the other index on open follow-ups; SQLite is told the indexes."""
    from sqlalchemy import event, text

    worker = make_user(Role.HANDLAGGARE, "unga").user
    with app.test_request_context("/"):
        conn = db.session.connection()
        sent = []

        def capture(_conn, _cursor, statement, parameters, _context, _many):
            sent.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            db.session.execute(ops._start_follow_ups_statement(), {"actor_id": worker.id, "until": ops.today()}).all()
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        (sql, parameters), = [(q, p) for q, p in sent if "intervention_follow_ups" in q]
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            # (and not the open-follow-ups index, which costs the same in an almost empty table: the choice
            # between them flipped from run to run; the DROP is rolled back with the transaction below)
            conn.execute(text("DROP INDEX ix_intervention_follow_ups_open"))
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, parameters))
            assert "Index Only Scan using ix_interventions_responsible_page on interventions" in plan, plan
            assert "Index Only Scan using ix_intervention_follow_ups_due on intervention_follow_ups" in plan, plan
        else:  # (SQLite chooses by its statistics, which an almost empty database lacks: the indexes are named)
            import re

            sql = re.sub(r"(FROM|JOIN) (interventions|intervention_follow_ups) ", lambda m: "{} {} INDEXED BY {} ".format(
                *m.groups(), {"interventions": "ix_interventions_responsible_page",
                              "intervention_follow_ups": "ix_intervention_follow_ups_due"}[m[2]]), sql)
            plan = "\n".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters))
            assert "interventions USING COVERING INDEX ix_interventions_responsible_page" in plan, plan
            assert "intervention_follow_ups USING COVERING INDEX ix_intervention_follow_ups_due" in plan, plan
        db.session.rollback()


def test_the_drafts_statement_runs_only_for_an_actor_with_drafts(app, make_user, catalogue, case_factory):
    """Whether the actor has an unsigned entry of their own is asked with the other panels' facts
    (presence.reach_presence); without one, the drafts' own statement does not run. A draft written and signed,
    one written in the same request (not yet flushed), and another worker's draft are all seen as they are."""
    from sqlalchemy import event

    from caseapp.cases.models import JournalEntry

    worker = make_user(Role.HANDLAGGARE, "unga").user
    other = make_user(Role.HANDLAGGARE, "unga").user
    case = case_factory(worker)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def drafts_statements():
        return [s for s in statements if "FROM journal_entries LEFT OUTER JOIN cases" in s]

    with app.test_request_context("/"):  # another worker's draft is not this worker's
        ops.create_entry(other, db.session.get(type(case), case.id), ops.EntryData("anteckning", ops.today(), "Hens."))
        db.session.commit()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with app.test_request_context("/"):
            assert ops.start_panels(worker).drafts == []
            assert drafts_statements() == []
            db.session.rollback()
        with app.test_request_context("/"):
            assert ops.start_panels(worker).drafts == []  # (asked, and kept for the request)
            ops.create_entry(worker, db.session.get(type(case), case.id),
                             ops.EntryData("anteckning", ops.today(), "Mitt utkast."))
            panels = ops.start_panels(worker)  # (the kept answer is dropped with the flush)
            assert [d.text for d, _p, _c in panels.drafts] == ["Mitt utkast."]
            assert len(drafts_statements()) == 1
            db.session.commit()
        with app.test_request_context("/"):
            entry = db.session.scalars(db.select(JournalEntry).where(JournalEntry.author_id == worker.id)).one()
            ops.sign_entry(worker, entry)
            db.session.commit()
        statements.clear()
        with app.test_request_context("/"):
            assert ops.start_panels(worker).drafts == []
            assert drafts_statements() == []
            db.session.rollback()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
