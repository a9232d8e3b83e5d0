"""The casework workflow, Swedish style, as pure functions (no database, no Flask).

A case moves aktualisering → förhandsbedömning → utredning → beslut → insats → uppföljning → avslut.
Which states a case may skip depends on its focus area and on how it came in: a report of concern
(anmälan/orosanmälan) about a child always needs a förhandsbedömning (and a skyddsbedömning the same or the
next day); preventive contacts in the youth, leaving-crime and relatives' areas may go straight to an
intervention. Any open case can be closed; a closed case can be re-opened. Every transition needs a reason
when it goes backwards, skips a state, closes or re-opens.

Deadlines for children (under 18 at the time the matter was raised): after a report (anmälan, or a partner's
referral, which is a report in law) a skyddsbedömning by the next day and a förhandsbedömning within 14 days;
utredning finished within 4 months of its start, extended only by a recorded decision with reasons.
`transition_dates` says which of those dates a transition fills in; `next_due` is what lists sort on.
"""

from __future__ import annotations

import calendar
import dataclasses
import enum
from dataclasses import dataclass
from datetime import date, timedelta

from caseapp.i18n import lazy_gettext as _l


class State(enum.StrEnum):
    AKTUALISERING = "aktualisering"
    FORHANDSBEDOMNING = "forhandsbedomning"
    UTREDNING = "utredning"
    BESLUT = "beslut"
    INSATS = "insats"
    UPPFOLJNING = "uppfoljning"
    AVSLUTAD = "avslutad"


ORDER = [State.AKTUALISERING, State.FORHANDSBEDOMNING, State.UTREDNING, State.BESLUT, State.INSATS,
         State.UPPFOLJNING, State.AVSLUTAD]
STATE_LABELS = {
    State.AKTUALISERING: _l("Aktualisering"),
    State.FORHANDSBEDOMNING: _l("Förhandsbedömning"),
    State.UTREDNING: _l("Utredning"),
    State.BESLUT: _l("Beslut"),
    State.INSATS: _l("Insats"),
    State.UPPFOLJNING: _l("Uppföljning"),
    State.AVSLUTAD: _l("Avslutad"),
}


class FocusArea(enum.StrEnum):
    UNGA_I_RISK = "unga_i_risk"
    LAMNA_KRIMINALITET = "lamna_kriminalitet"
    ANHORIGSTOD = "anhorigstod"
    BROTTSOFFER = "brottsoffer"


FOCUS_LABELS = {
    FocusArea.UNGA_I_RISK: _l("Unga i risk för kriminalitet"),
    FocusArea.LAMNA_KRIMINALITET: _l("Lämna en kriminell livsstil"),
    FocusArea.ANHORIGSTOD: _l("Anhörigstöd"),
    FocusArea.BROTTSOFFER: _l("Brottsoffer (våld i nära relation och andra särskilt utsatta)"),
}


class Intake(enum.StrEnum):
    ANSOKAN = "ansokan"
    ANMALAN = "anmalan"  # anmälan / orosanmälan
    EGET_INITIATIV = "eget_initiativ"
    REMISS = "remiss"  # referral from a partner (e.g. the police in SIG)


INTAKE_LABELS = {
    Intake.ANSOKAN: _l("Ansökan"),
    Intake.ANMALAN: _l("Anmälan / orosanmälan"),
    Intake.EGET_INITIATIV: _l("Eget initiativ"),
    Intake.REMISS: _l("Remiss från samverkanspart"),
}

# States a focus area may skip on the way forward (voluntary, preventive support goes straight to an insats).
SKIPPABLE = {
    FocusArea.UNGA_I_RISK: {State.FORHANDSBEDOMNING, State.UTREDNING, State.BESLUT},
    FocusArea.LAMNA_KRIMINALITET: {State.FORHANDSBEDOMNING, State.UTREDNING, State.BESLUT},
    FocusArea.ANHORIGSTOD: {State.FORHANDSBEDOMNING, State.UTREDNING, State.BESLUT},
    FocusArea.BROTTSOFFER: set(),
}
# Backward moves that casework knows: a new investigation, a continued intervention.
BACKWARD = {
    State.UPPFOLJNING: {State.INSATS, State.UTREDNING},
    State.INSATS: {State.UTREDNING},
    State.BESLUT: {State.UTREDNING},
}
REOPEN_TO = (State.AKTUALISERING, State.UTREDNING, State.INSATS)

FORHANDSBEDOMNING_DAYS = 14
UTREDNING_MONTHS = 4


class WorkflowError(ValueError):
    """A refused transition; the message (Swedish, translatable) says why."""


@dataclass(frozen=True)
class CaseFacts:
    focus: FocusArea
    intake: Intake
    child: bool  # under 18 when the matter was raised


# How a matter about a child comes in as a report (anmälan): a report of concern, or a partner's referral (the
# police's and the school's reports about a young person are reports in law). These start the förhandsbedömning
# clock (14 days) and need a skyddsbedömning; an application (ansökan) or the unit's own initiative do not.
REPORT_INTAKES = frozenset({Intake.ANMALAN, Intake.REMISS})


def is_report(intake: Intake) -> bool:
    return intake in REPORT_INTAKES


def skippable(facts: CaseFacts) -> set[State]:
    states = set(SKIPPABLE[facts.focus])
    if facts.child and is_report(facts.intake):
        states.discard(State.FORHANDSBEDOMNING)  # the law requires it for a report about a child
    return states


def allowed_transitions(facts: CaseFacts, current: State) -> list[State]:
    """The states a case may move to from `current`, in workflow order."""
    if current is State.AVSLUTAD:
        return list(REOPEN_TO)
    result: list[State] = []
    skip = skippable(facts)
    for nxt in ORDER[ORDER.index(current) + 1:]:
        result.append(nxt)
        if nxt not in skip:
            break
    if State.AVSLUTAD not in result:
        result.append(State.AVSLUTAD)
    result.extend(s for s in ORDER if s in BACKWARD.get(current, set()))
    return sorted(set(result), key=ORDER.index)


def needs_reason(current: State, target: State) -> bool:
    if target is State.AVSLUTAD or current is State.AVSLUTAD:
        return True
    gap = ORDER.index(target) - ORDER.index(current)
    return gap != 1


def check_transition(facts: CaseFacts, current: State, target: State, reason: str | None) -> None:
    if target == current:
        raise WorkflowError(str(_l("Ärendet är redan i det läget.")))
    if target not in allowed_transitions(facts, current):
        raise WorkflowError(str(_l("Ärendet kan inte gå från %(a)s till %(b)s.", a=STATE_LABELS[current],
                                   b=STATE_LABELS[target])))
    if needs_reason(current, target) and not (reason or "").strip():
        raise WorkflowError(str(_l("Ange skälet till ändringen.")))


def add_months(d: date, months: int) -> date:
    month = d.month - 1 + months
    year = d.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Deadline:
    kind: str  # skyddsbedomning | forhandsbedomning | utredning
    due: date
    done: bool

    def overdue(self, today: date) -> bool:
        return not self.done and today > self.due

    @property
    def label(self) -> str:
        return str(DEADLINE_LABELS[self.kind])


DEADLINE_LABELS = {
    "skyddsbedomning": _l("Skyddsbedömning"),
    "forhandsbedomning": _l("Förhandsbedömning klar"),
    "utredning": _l("Utredning klar"),
}


def deadlines(
    facts: CaseFacts,
    *,
    received: date,
    forhandsbedomning_done: date | None,
    skyddsbedomning_done: date | None,
    utredning_started: date | None,
    utredning_done: date | None,
    utredning_extended_to: date | None,
) -> list[Deadline]:
    """The legal deadlines of a case about a child (none for adults, whose cases have no statutory clock)."""
    if not facts.child:
        return []
    result = []
    if is_report(facts.intake):
        result.append(Deadline("skyddsbedomning", received + timedelta(days=1), skyddsbedomning_done is not None))
        result.append(Deadline("forhandsbedomning", received + timedelta(days=FORHANDSBEDOMNING_DAYS),
                               forhandsbedomning_done is not None))
    if utredning_started is not None:
        due = utredning_extended_to or add_months(utredning_started, UTREDNING_MONTHS)
        result.append(Deadline("utredning", due, utredning_done is not None))
    return result


def check_extension(current_due: date, new_due: date, reason: str | None, today: date) -> None:
    """An investigation's deadline is extended only by a decision with reasons, to a later date."""
    if not (reason or "").strip():
        raise WorkflowError(str(_l("Ett beslut om förlängd utredningstid måste ha skäl.")))
    if new_due <= current_due:
        raise WorkflowError(str(_l("Den nya tidsgränsen måste ligga efter den nuvarande.")))
    if new_due <= today:
        raise WorkflowError(str(_l("Den nya tidsgränsen måste ligga i framtiden.")))


def next_due(items: list[Deadline]) -> date | None:
    """The earliest deadline not yet met (what the overdue lists query), or None."""
    open_dates = [d.due for d in items if not d.done]
    return min(open_dates) if open_dates else None


@dataclass(frozen=True)
class CaseDates:
    """The dates of a case that the deadlines are computed from."""

    received: date
    skyddsbedomning_done: date | None = None
    forhandsbedomning_done: date | None = None
    utredning_started: date | None = None
    utredning_done: date | None = None
    utredning_extended_to: date | None = None

    def deadlines(self, facts: CaseFacts) -> list[Deadline]:
        return deadlines(facts, received=self.received, forhandsbedomning_done=self.forhandsbedomning_done,
                         skyddsbedomning_done=self.skyddsbedomning_done, utredning_started=self.utredning_started,
                         utredning_done=self.utredning_done, utredning_extended_to=self.utredning_extended_to)


def transition_dates(dates: CaseDates, current: State, target: State, on: date) -> CaseDates:
    """The dates after moving from `current` to `target` on `on` (pure; the caller has checked the move).

    Leaving förhandsbedömning (or skipping it) completes it; entering utredning starts a new investigation
    (a re-opened or repeated investigation gets a fresh clock and no old extension); leaving utredning
    forward, or closing, completes it.
    """
    changes: dict = {}
    pos = {s: i for i, s in enumerate(ORDER)}
    if (current in (State.AKTUALISERING, State.FORHANDSBEDOMNING) and target is not State.FORHANDSBEDOMNING
            and dates.forhandsbedomning_done is None and current is not State.AVSLUTAD):
        changes["forhandsbedomning_done"] = on
    if target is State.UTREDNING:
        changes.update(utredning_started=on, utredning_done=None, utredning_extended_to=None)
    elif current is State.UTREDNING and (target is State.AVSLUTAD or pos[target] > pos[current]):
        changes["utredning_done"] = on
    return dataclasses.replace(dates, **changes)
