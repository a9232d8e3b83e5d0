"""The case page's presence query: right answers, kept for the request, asked again after a change."""

from __future__ import annotations

import gc

from caseapp.accounts.models import Role
from caseapp.cases.presence import case_presence
from caseapp.extensions import db
from caseapp.protection.models import WitnessChild
from tests.cases.conftest import PNR_CHILD, PNR_CHILD2


def test_presence_answers_and_is_asked_again_after_a_flush(app, make_user, catalogue, case_factory,
                                                           person_factory):
    worker = make_user(Role.HANDLAGGARE, "unga").user
    case = case_factory(worker)
    child = person_factory(worker, identity=PNR_CHILD, given_name="Nils")
    with app.test_request_context("/"):
        first = case_presence(case.id)
        assert not any(vars(first).values())
        assert case_presence(case.id) is first  # kept for the request
        db.session.add(WitnessChild(victim_case_id=case.id, child_person_id=child.id, created_by=worker.id))
        db.session.flush()
        again = case_presence(case.id)  # the flush dropped the memo
        assert again.witness_children and not again.referrals and not again.victim_links
        db.session.rollback()


def test_decisions_and_interventions_are_read_only_when_the_case_has_some(app, make_user, catalogue, case_factory):
    """The case page skips the decisions and interventions queries for a case without any; one proposed or
    added in the same request is seen at once (the flush drops the presence memo)."""
    from caseapp.cases import operations as ops
    from caseapp.cases.catalogue import DecisionKind
    from caseapp.cases.models import InterventionType

    worker = make_user(Role.HANDLAGGARE, "unga").user
    case = case_factory(worker)
    with app.test_request_context("/"):
        assert ops.decisions(case) == [] and ops.interventions(case) == []
        presence = case_presence(case.id)
        assert not presence.decisions and not presence.interventions
        decision = ops.propose_decision(worker, case, ops.DecisionData(
            DecisionKind.INLEDA_UTREDNING.value, "sol2025_utredning", ops.today(), "Utreds."))
        itype = db.session.scalar(db.select(InterventionType).where(InterventionType.code == "motivation"))
        item = ops.add_intervention(worker, case, ops.InterventionData(
            itype.id, "pagaende", ops.today(), None, worker.id, "Mål.", "Plan.", None, None))
        assert [d.id for d in ops.decisions(case)] == [decision.id]
        assert [i.id for i in ops.interventions(case)] == [item.id]
        db.session.rollback()


def test_a_row_added_but_not_yet_flushed_is_not_hidden_by_the_memo(app, make_user, catalogue, case_factory,
                                                                    person_factory):
    worker = make_user(Role.HANDLAGGARE, "unga").user
    case = case_factory(worker)
    child = person_factory(worker, identity=PNR_CHILD, given_name="Nils")
    with app.test_request_context("/"):
        assert not case_presence(case.id).witness_children
        db.session.add(WitnessChild(victim_case_id=case.id, child_person_id=child.id, created_by=worker.id))
        assert case_presence(case.id).witness_children  # flushed first, as a query's autoflush would
        db.session.rollback()
        assert not case_presence(case.id).witness_children
        with db.session.no_autoflush:
            db.session.add(WitnessChild(victim_case_id=case.id, child_person_id=child.id, created_by=worker.id))
            assert not case_presence(case.id).witness_children  # not written: the database is asked, as a query
        db.session.rollback()


def test_the_case_page_load_gives_the_facts_their_own_statements_give(app, team, catalogue, case_factory,
                                                                      person_factory):
    """presence.load_case_page reads the case, its person, its active assignments and its presence facts in one
    statement; each must equal what its own statement answers, and the policy's case load then takes the case
    from the session without a statement of its own."""
    from sqlalchemy import event

    from caseapp.cases import operations as ops
    from caseapp.cases import presence
    from caseapp.cases.catalogue import DecisionKind
    from caseapp.security import policy

    chef, worker, colleague = team["unga_chef"].user, team["unga"].user, team["unga2"].user
    case = case_factory(worker)
    bare = case_factory(worker, identity=PNR_CHILD, given_name="Nils")
    child = person_factory(worker, identity=PNR_CHILD2, given_name="Sara")
    ops.assign(chef, case, colleague.id)
    ended = ops.assign(chef, case, chef.id)
    ops.unassign(chef, case, ended.id)
    db.session.add(WitnessChild(victim_case_id=case.id, child_person_id=child.id, created_by=worker.id))
    ops.propose_decision(worker, case, ops.DecisionData(
        DecisionKind.INLEDA_UTREDNING.value, "sol2025_utredning", ops.today(), "Utreds."))
    from caseapp.cases.models import CaseAssignment
    from caseapp.timeutil import utcnow

    db.session.execute(db.update(CaseAssignment).where(CaseAssignment.case_id == bare.id)  # (no active one left)
                       .values(ended_at=utcnow(), ended_by=chef.id))
    db.session.commit()
    subjects = [(case.id, case.person_id), (bare.id, bare.person_id)]
    case_id = case.id
    del case, bare  # (the session keeps only weak references: the load must hold the case itself)
    gc.collect()
    for subject_id, person_id in subjects:
        db.session.expire_all()
        with app.test_request_context("/"):
            presence.load_case_page(subject_id)
            loaded = (presence.case_presence(subject_id),
                      [(a.id, a.user_id, a.responsible) for a in presence.active_assignments(subject_id)])
            _touch = (worker.role, worker.unit.shares_cases)  # (their rows refreshed outside the count)
            statements: list[str] = []

            def listener(*args, statements=statements):
                statements.append(args[2])

            event.listen(db.engine, "before_cursor_execute", listener)
            try:
                got = policy.get_case(worker, subject_id, policy.READ)
                assert got.id == subject_id and got.person.id == person_id
            finally:
                event.remove(db.engine, "before_cursor_execute", listener)
            assert statements == []
        db.session.expire_all()
        with app.test_request_context("/"):  # each fact by its own statement
            own = (presence.case_presence(subject_id),
                   [(a.id, a.user_id, a.responsible) for a in presence.active_assignments(subject_id)])
        assert loaded == own
    assert loaded[1] == [] and not any(vars(loaded[0]).values())  # (the bare case: no assignment, nothing present)
    db.session.expire_all()
    with app.test_request_context("/"):
        presence.load_case_page(case_id)
        facts = presence.case_presence(case_id)
        assert facts.witness_children and facts.decisions and not facts.referrals
        assert [a.user_id for a in presence.active_assignments(case_id)] == [worker.id, colleague.id]


def test_a_case_loaded_for_the_page_is_still_refused_by_the_policy(app, team, catalogue, case_factory):
    """Loading the case page's facts decides nothing: a worker of another unit, and an unassigned colleague in
    the non-sharing domestic-violence team, are refused (404, audited) after the load as without it."""
    from werkzeug.exceptions import NotFound

    from caseapp.cases import presence
    from caseapp.security import audit, policy
    from caseapp.security.audit import AuditEvent

    rvt_case_id = case_factory(team["rvt"].user).id
    for outsider in (team["unga"].user, team["rvt2"].user, team["admin"].user, team["auditor"].user):
        db.session.expire_all()
        with app.test_request_context("/"):
            presence.load_case_page(rvt_case_id)
            try:
                policy.get_case(outsider, rvt_case_id, policy.READ)
            except NotFound:
                db.session.rollback()  # as the app's after-request hook does on a refusal
                audit.persist_sticky_events()
            else:
                raise AssertionError(f"{outsider.username} read a case they may not")
        refusal = db.session.scalars(db.select(AuditEvent).where(
            AuditEvent.actor_user_id == outsider.id, AuditEvent.outcome == "denied",
            AuditEvent.object_id == str(rvt_case_id)).order_by(AuditEvent.id)).all()
        assert len(refusal) == 1


def test_staff_names_read_with_the_case_pages_rows_are_not_asked_again(app, team, catalogue, case_factory):
    """The case page's assignments, transitions and journal entries carry their staff's display names;
    operations.staff_names then asks the database only for the others (here the manager, on none of those rows),
    and a flush (a rename, say) drops what was kept."""
    from sqlalchemy import event

    from caseapp.accounts.models import User
    from caseapp.cases import operations as ops
    from caseapp.cases import presence

    chef, worker, colleague = team["unga_chef"].user, team["unga"].user, team["unga2"].user
    case = case_factory(worker)
    with app.test_request_context("/"):
        ops.assign(chef, case, colleague.id)
        entry = ops.create_entry(colleague, case, ops.EntryData("anteckning", ops.today(), "Samtal med Anna."))
        ops.sign_entry(colleague, entry)
        db.session.commit()
        case_id, author_id = case.id, entry.author_id
    ids = (worker.id, colleague.id, chef.id)
    with app.test_request_context("/"):
        presence.load_case_page(case_id)
        loaded = db.session.get(type(case), case_id)
        ops.journal(worker, loaded)
        ops.transitions(loaded)
        statements: list[str] = []

        def listener(*args, statements=statements):
            statements.append(args[2])

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            known = ops.staff_names([worker.id, colleague.id, author_id])
            assert statements == []
            everyone = ops.staff_names(ids)
            assert len(statements) == 1  # only the manager was not known
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        plain = dict(db.session.execute(db.select(User.id, User.display_name).where(User.id.in_(ids))).all())
        assert known == {i: plain[i] for i in (worker.id, colleague.id)} and everyone == plain
        db.session.get(User, colleague.id).display_name = "Ny Namnsson"
        assert ops.staff_names([colleague.id]) == {colleague.id: "Ny Namnsson"}  # (flushed first, then asked)
        db.session.get(User, worker.id).display_name = "Annan Namnsson"
        db.session.flush()  # (drops the kept names)
        assert ops.staff_names([worker.id]) == {worker.id: "Annan Namnsson"}
        db.session.rollback()
