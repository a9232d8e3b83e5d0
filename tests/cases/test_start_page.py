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
