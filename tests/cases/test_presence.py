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
