"""The casework workflow: allowed and refused transitions, deadlines for children, extensions."""

from __future__ import annotations

from datetime import date

import pytest

from caseapp.cases.workflow import (
    CaseFacts,
    FocusArea,
    Intake,
    State,
    WorkflowError,
    add_months,
    allowed_transitions,
    check_extension,
    check_transition,
    deadlines,
)

CHILD_REPORT = CaseFacts(FocusArea.UNGA_I_RISK, Intake.ANMALAN, child=True)
ADULT_LEAVING = CaseFacts(FocusArea.LAMNA_KRIMINALITET, Intake.ANSOKAN, child=False)
VICTIM = CaseFacts(FocusArea.BROTTSOFFER, Intake.ANMALAN, child=False)


def test_child_report_cannot_skip_forhandsbedomning(app):
    with app.app_context():
        assert allowed_transitions(CHILD_REPORT, State.AKTUALISERING) == [State.FORHANDSBEDOMNING, State.AVSLUTAD]
        with pytest.raises(WorkflowError):
            check_transition(CHILD_REPORT, State.AKTUALISERING, State.INSATS, "förebyggande")


def test_preventive_support_may_go_straight_to_an_intervention(app):
    with app.app_context():
        assert State.INSATS in allowed_transitions(ADULT_LEAVING, State.AKTUALISERING)
        with pytest.raises(WorkflowError, match="skälet"):
            check_transition(ADULT_LEAVING, State.AKTUALISERING, State.INSATS, "")
        check_transition(ADULT_LEAVING, State.AKTUALISERING, State.INSATS, "Frivillig motivationsinsats")


def test_victim_cases_go_through_every_state(app):
    with app.app_context():
        order = list(State)
        state = State.AKTUALISERING
        path = []
        while state is not State.UPPFOLJNING:
            forward = [s for s in allowed_transitions(VICTIM, state)
                       if s is not State.AVSLUTAD and order.index(s) > order.index(state)]
            assert len(forward) == 1, forward  # no skipping for victims
            state = forward[0]
            path.append(state)
        assert path == [State.FORHANDSBEDOMNING, State.UTREDNING, State.BESLUT, State.INSATS, State.UPPFOLJNING]
        with pytest.raises(WorkflowError):
            check_transition(VICTIM, State.UTREDNING, State.INSATS, "hoppa")


def test_close_from_anywhere_needs_reason_and_reopen(app):
    with app.app_context():
        for state in [s for s in State if s is not State.AVSLUTAD]:
            assert State.AVSLUTAD in allowed_transitions(VICTIM, state)
        with pytest.raises(WorkflowError):
            check_transition(VICTIM, State.UTREDNING, State.AVSLUTAD, " ")
        check_transition(VICTIM, State.UTREDNING, State.AVSLUTAD, "Flyttat från kommunen")
        assert allowed_transitions(VICTIM, State.AVSLUTAD) == [State.AKTUALISERING, State.UTREDNING, State.INSATS]
        with pytest.raises(WorkflowError):
            check_transition(VICTIM, State.AVSLUTAD, State.BESLUT, "x")
        check_transition(VICTIM, State.AVSLUTAD, State.UTREDNING, "Ny anmälan")


def test_same_state_refused(app):
    with app.app_context(), pytest.raises(WorkflowError):
        check_transition(VICTIM, State.INSATS, State.INSATS, "x")


def test_backward_moves(app):
    with app.app_context():
        assert State.UTREDNING in allowed_transitions(VICTIM, State.UPPFOLJNING)
        assert State.INSATS in allowed_transitions(VICTIM, State.UPPFOLJNING)
        assert State.AKTUALISERING not in allowed_transitions(VICTIM, State.UPPFOLJNING)


def test_child_deadlines():
    d = deadlines(CHILD_REPORT, received=date(2026, 3, 2), forhandsbedomning_done=None, skyddsbedomning_done=None,
                  utredning_started=date(2026, 3, 10), utredning_done=None, utredning_extended_to=None)
    by_kind = {x.kind: x for x in d}
    assert by_kind["skyddsbedomning"].due == date(2026, 3, 3)
    assert by_kind["forhandsbedomning"].due == date(2026, 3, 16)
    assert by_kind["utredning"].due == date(2026, 7, 10)
    assert by_kind["forhandsbedomning"].overdue(date(2026, 3, 17))
    assert not by_kind["forhandsbedomning"].overdue(date(2026, 3, 16))


def test_extension_moves_the_deadline():
    d = deadlines(CHILD_REPORT, received=date(2026, 1, 5), forhandsbedomning_done=date(2026, 1, 10),
                  skyddsbedomning_done=date(2026, 1, 5), utredning_started=date(2026, 1, 12), utredning_done=None,
                  utredning_extended_to=date(2026, 7, 12))
    assert {x.kind: x.due for x in d}["utredning"] == date(2026, 7, 12)
    assert not any(x.overdue(date(2026, 6, 1)) for x in d)


def test_adults_have_no_statutory_clock():
    assert deadlines(ADULT_LEAVING, received=date(2026, 1, 1), forhandsbedomning_done=None,
                     skyddsbedomning_done=None, utredning_started=date(2026, 1, 2), utredning_done=None,
                     utredning_extended_to=None) == []


def test_extension_rules(app):
    with app.app_context():
        with pytest.raises(WorkflowError, match="skäl"):
            check_extension(date(2026, 5, 1), date(2026, 6, 1), "", today=date(2026, 4, 1))
        with pytest.raises(WorkflowError):
            check_extension(date(2026, 5, 1), date(2026, 4, 1), "Komplex utredning", today=date(2026, 3, 1))
        check_extension(date(2026, 5, 1), date(2026, 7, 1), "Väntar på BUP-utlåtande", today=date(2026, 4, 1))


@pytest.mark.parametrize(("d", "n", "expected"), [
    (date(2026, 1, 31), 1, date(2026, 2, 28)), (date(2026, 10, 15), 4, date(2027, 2, 15)),
    (date(2024, 10, 31), 4, date(2025, 2, 28)), (date(2026, 11, 30), 3, date(2027, 2, 28)),
])
def test_add_months(d, n, expected):
    assert add_months(d, n) == expected
