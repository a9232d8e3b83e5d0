"""The case page's presence query: right answers, kept for the request, asked again after a change."""

from __future__ import annotations

from caseapp.accounts.models import Role
from caseapp.cases.presence import case_presence
from caseapp.extensions import db
from caseapp.protection.models import WitnessChild
from tests.cases.conftest import PNR_CHILD


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
