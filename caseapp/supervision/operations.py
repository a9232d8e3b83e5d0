"""Log follow-up operations: filter and export audit events, the attention list, monthly samples.

Which events a viewer may see is decided by `policy.scope_audit_events`; every page and export here is itself
audited. Notes and comments are staff text and are stored encrypted (system key "supervision-notes").
"""

from __future__ import annotations

import csv
import io
import secrets
import statistics
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select

from caseapp.accounts.models import Unit, User
from caseapp.extensions import db
from caseapp.i18n import lazy_gettext as _l
from caseapp.security import audit, policy, services
from caseapp.security.audit import AuditEvent
from caseapp.supervision.models import NOTE_PURPOSE, AttentionReview, LogSample, LogSampleItem
from caseapp.timeutil import STOCKHOLM, to_local, utcnow

READ_ACTIONS = ("view", "list", "search", "export", "print")
FINDINGS = {"ok": _l("Utan anmärkning"), "question": _l("Fråga till användaren"), "deviation": _l("Avvikelse")}
CONCLUSIONS = {
    "no_deviation": _l("Inga avvikelser"),
    "deviation_followed_up": _l("Avvikelse som följs upp"),
    "deviation_reported": _l("Avvikelse anmäld som personuppgiftsincident"),
}
ATTENTION_KINDS = {
    "denied": _l("Nekad åtkomst"),
    "emergency": _l("Nödåtkomst"),
    "emergency_protected": _l("Nödåtkomst till person med skyddade personuppgifter"),
    "after_hours": _l("Åtkomst utanför arbetstid"),
    "volume": _l("Ovanligt många läsningar"),
    "unassigned": _l("Läsning av ärende utan tilldelning"),
    "protected": _l("Läsning av person med skyddade personuppgifter"),
}
EMERGENCY_KINDS = ("emergency", "emergency_protected")
MAX_NOTE = 2000
PAGE_SIZE = 100


class SupervisionError(ValueError):
    """A refused log follow-up operation; the message is shown to the user."""


# --- encrypted notes -----------------------------------------------------------------------------------


def _encrypt_note(text: str | None, table: str, column: str, row_id: uuid.UUID) -> bytes | None:
    text = (text or "").strip()
    if len(text) > MAX_NOTE:
        raise SupervisionError(str(_l("Kommentaren får vara högst %(n)s tecken.", n=MAX_NOTE)))
    return services.system_key(NOTE_PURPOSE).encrypt(text, table, column, row_id) if text else None


def decrypt_note(blob: bytes | None, table: str, column: str, row_id: uuid.UUID) -> str | None:
    return services.system_key(NOTE_PURPOSE).decrypt(blob, table, column, row_id) if blob else None


# --- filtering ----------------------------------------------------------------------------------------------


@dataclass
class EventFilter:
    user_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    object_id: str | None = None
    action: str | None = None
    unit_id: uuid.UUID | None = None
    date_from: date | None = None
    date_to: date | None = None

    def codes(self) -> dict[str, Any]:
        """The filter as audit details: ids and codes only."""
        return {k: (str(v) if v is not None else None) for k, v in vars(self).items() if v is not None}


def _utc_bounds(d_from: date | None, d_to: date | None) -> tuple[datetime | None, datetime | None]:
    def start(d: date) -> datetime:
        return _to_utc_naive(datetime(d.year, d.month, d.day, tzinfo=STOCKHOLM))

    lo = start(d_from) if d_from else None
    hi = start(d_to + timedelta(days=1)) if d_to else None
    return lo, hi


def _to_utc_naive(local: datetime) -> datetime:
    return local.astimezone(UTC).replace(tzinfo=None)


def events_query(viewer: User, f: EventFilter) -> Select:
    query = policy.scope_audit_events(viewer, select(AuditEvent))
    if f.user_id:
        query = query.where(AuditEvent.actor_user_id == f.user_id)
    if f.person_id:
        query = query.where(audit.about_person(f.person_id))
    if f.object_id:
        query = query.where(AuditEvent.object_id == f.object_id)
    if f.action:
        query = query.where(AuditEvent.action == f.action)
    if f.unit_id:
        query = query.where(AuditEvent.actor_unit_id == f.unit_id)
    lo, hi = _utc_bounds(f.date_from, f.date_to)
    if lo:
        query = query.where(AuditEvent.occurred_at >= lo)
    if hi:
        query = query.where(AuditEvent.occurred_at < hi)
    return query


def staff_names(ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {row.id: row.display_name for row in rows}


def unit_names() -> dict[uuid.UUID, str]:
    return {u.id: u.name for u in db.session.scalars(select(Unit))}


def list_events(viewer: User, f: EventFilter, *, before_id: int | None = None,
                limit: int = PAGE_SIZE) -> tuple[list[AuditEvent], int | None]:
    """One page of events, newest first (keyset pagination on id). Returns (events, next before_id)."""
    query = events_query(viewer, f)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    rows = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    audit.record("view", object_type="audit_log", details={**f.codes(), "rows": len(rows)})
    return rows, (rows[-1].id if more and rows else None)


@dataclass
class Reader:
    user_id: uuid.UUID
    name: str
    unit: str
    reads: int
    first: datetime
    last: datetime
    actions: set[str] = field(default_factory=set)


def who_has_read(viewer: User, person_id: uuid.UUID) -> list[Reader]:
    """Everyone (in the viewer's scope) who read anything about one person, with counts and first/last time."""
    query = policy.scope_audit_events(
        viewer,
        select(AuditEvent.actor_user_id, AuditEvent.actor_unit_id, AuditEvent.action,
               func.count(AuditEvent.id), func.min(AuditEvent.occurred_at), func.max(AuditEvent.occurred_at))
        .select_from(AuditEvent),
    ).where(audit.about_person(person_id), AuditEvent.action.in_(READ_ACTIONS),
            AuditEvent.outcome == "ok", AuditEvent.actor_user_id.is_not(None))
    query = query.group_by(AuditEvent.actor_user_id, AuditEvent.actor_unit_id, AuditEvent.action)
    per_user: dict[uuid.UUID, Reader] = {}
    units = unit_names()
    rows = db.session.execute(query).all()
    names = staff_names(r[0] for r in rows)
    for user_id, unit_id, action, count, first, last in rows:
        reader = per_user.get(user_id)
        if reader is None:
            reader = per_user[user_id] = Reader(user_id, names.get(user_id, str(user_id)),
                                                units.get(unit_id, "–"), 0, first, last)
        reader.reads += count
        reader.first = min(reader.first, first)
        reader.last = max(reader.last, last)
        reader.actions.add(action)
    audit.record("view", object_type="audit_log", subject_person_id=person_id, details={"report": "who_has_read"})
    return sorted(per_user.values(), key=lambda r: r.last, reverse=True)


# --- export -----------------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")
EXPORT_LIMIT = 100_000


def neutralise(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def export_csv(viewer: User, f: EventFilter) -> tuple[str, int]:
    query = events_query(viewer, f).order_by(AuditEvent.id).limit(EXPORT_LIMIT + 1)
    events = list(db.session.scalars(query))
    if len(events) > EXPORT_LIMIT:
        raise SupervisionError(str(_l("Urvalet är för stort för en export (högst %(n)s händelser). Begränsa "
                                      "filtret.", n=EXPORT_LIMIT)))
    names = staff_names(e.actor_user_id for e in events)
    units = unit_names()
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(["id", "tid (Europe/Stockholm)", "användare", "användar-id", "enhet", "roll", "händelse",
                     "utfall", "objekttyp", "objekt-id", "person-id", "ip", "detaljer"])
    for e in events:
        writer.writerow([neutralise(v) for v in (
            e.id, to_local(e.occurred_at).strftime("%Y-%m-%d %H:%M:%S"), names.get(e.actor_user_id, ""),
            e.actor_user_id, units.get(e.actor_unit_id, ""), e.actor_role, e.action, e.outcome, e.object_type,
            e.object_id, e.subject_person_id, e.ip, e.details,
        )])
    audit.record("export", object_type="audit_log", details={**f.codes(), "rows": len(events), "format": "csv"})
    return "\ufeff" + out.getvalue(), len(events)


# --- attention list -----------------------------------------------------------------------------------------


@dataclass
class AttentionItem:
    kind: str
    event: AuditEvent
    user_name: str
    detail: dict[str, Any] = field(default_factory=dict)
    review: AttentionReview | None = None

    @property
    def label(self) -> str:
        return str(ATTENTION_KINDS.get(self.kind, self.kind))


AttentionRule = Callable[[User, datetime], list[tuple[str, AuditEvent, dict[str, Any]]]]
# Other domains (casework, protected identities) append rules here: (viewer, since) -> [(kind, event, detail)].
ATTENTION_RULES: list[AttentionRule] = []


def _rule_denied_and_emergency(viewer: User, since: datetime):
    """Refusals by the viewer's staff; emergency accesses by them and, for a unit manager, to the unit's own
    cases by anyone (see `emergency.emergency_items`)."""
    from caseapp.supervision.emergency import emergency_items

    query = policy.scope_audit_events(viewer, select(AuditEvent)).where(
        AuditEvent.occurred_at >= since, AuditEvent.action == "denied", AuditEvent.actor_user_id.is_not(None))
    denied = [("denied", e, {}) for e in db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(2000))]
    return denied + emergency_items(viewer, since)


PROTECTED_READ_ACTIONS = ("view", "list", "search")


def _rule_protected_person_reads(viewer: User, since: datetime):
    """Reads (view, list, search) of a person whose identity is protected (Person.protection is not NONE), by
    the viewer's staff (auditors: everyone's)."""
    from caseapp.people.models import Person, Protection

    protected = select(Person.id).where(Person.protection != Protection.NONE)
    query = policy.scope_audit_events(viewer, select(AuditEvent)).where(
        AuditEvent.occurred_at >= since, AuditEvent.action.in_(PROTECTED_READ_ACTIONS), AuditEvent.outcome == "ok",
        AuditEvent.actor_user_id.is_not(None), audit.about_any_of(protected))
    return [("protected", e, {}) for e in db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(2000))]


def _is_after_hours(local: datetime, start: int, end: int) -> bool:
    return local.weekday() >= 5 or not (start <= local.hour < end)


def _rule_hours_and_volume(viewer: User, since: datetime):
    cfg = current_app.config
    start, end = cfg["WORKING_HOURS"]
    query = policy.scope_audit_events(viewer, select(AuditEvent)).where(
        AuditEvent.occurred_at >= since, AuditEvent.action.in_(READ_ACTIONS), AuditEvent.outcome == "ok",
        AuditEvent.actor_user_id.is_not(None)).order_by(AuditEvent.id)
    items = []
    per_day: dict[uuid.UUID, dict[date, list[AuditEvent]]] = defaultdict(lambda: defaultdict(list))
    for e in db.session.scalars(query):
        local = to_local(e.occurred_at)
        if _is_after_hours(local, start, end):
            items.append(("after_hours", e, {"local_time": local.strftime("%Y-%m-%dT%H:%M")}))
        per_day[e.actor_user_id][local.date()].append(e)
    factor, minimum = cfg["VOLUME_FACTOR"], cfg["VOLUME_MIN_READS"]
    for days in per_day.values():
        counts = [len(v) for v in days.values()]
        median = statistics.median(counts) if len(counts) >= 3 else None
        for day, events in days.items():
            if median is not None and len(events) >= max(minimum, factor * median):
                items.append(("volume", events[0], {"reads": len(events), "median": median, "day": day.isoformat()}))
    return items


def attention_items(viewer: User, *, days: int | None = None, include_reviewed: bool = False) -> list[AttentionItem]:
    days = days or current_app.config["ATTENTION_DAYS"]
    since = utcnow() - timedelta(days=days)
    found: list[tuple[str, AuditEvent, dict[str, Any]]] = []
    for rule in (_rule_denied_and_emergency, _rule_protected_person_reads, _rule_hours_and_volume,
                 *ATTENTION_RULES):
        found.extend(rule(viewer, since))
    reviews = {(r.event_id, r.kind): r for r in db.session.scalars(
        select(AttentionReview).where(AttentionReview.event_id.in_({e.id for _, e, _ in found} or {0})))}
    names = staff_names(e.actor_user_id for _, e, _ in found)
    items = []
    for kind, event, detail in found:
        review = reviews.get((event.id, kind))
        if review is not None and not include_reviewed:
            continue
        items.append(AttentionItem(kind, event, names.get(event.actor_user_id, "–"), detail, review))
    items.sort(key=lambda i: i.event.id, reverse=True)
    audit.record("view", object_type="attention_list", details={"days": days, "items": len(items)})
    return items


def mark_reviewed(viewer: User, event_id: int, kind: str, comment: str | None) -> AttentionReview:
    if kind not in ATTENTION_KINDS:
        raise SupervisionError(str(_l("Okänd typ av uppmärksamhetspunkt.")))
    scope = policy.scope_emergency_events if kind in EMERGENCY_KINDS else policy.scope_audit_events
    event = db.session.scalar(scope(viewer, select(AuditEvent)).where(AuditEvent.id == event_id))
    if event is None:
        policy.deny(viewer, object_type="audit_event", object_id=event_id, status=404)
    existing = db.session.scalar(select(AttentionReview).where(AttentionReview.event_id == event_id,
                                                               AttentionReview.kind == kind))
    if existing is not None:
        raise SupervisionError(str(_l("Punkten är redan granskad.")))
    review = AttentionReview(id=uuid.uuid4(), event_id=event_id, kind=kind, reviewed_by=viewer.id)
    review.comment_enc = _encrypt_note(comment, "attention_reviews", "comment_enc", review.id)
    db.session.add(review)
    audit.record("review", object_type="attention_item", object_id=event_id,
                 subject_person_id=event.subject_person_id, details={"kind": kind})
    return review


# --- systematic follow-up: monthly samples ---------------------------------------------------------------


def previous_period(today: date | None = None) -> str:
    today = today or to_local(utcnow()).date()
    first = today.replace(day=1)
    last_month = first - timedelta(days=1)
    return f"{last_month.year:04d}-{last_month.month:02d}"


def _period_bounds(period: str) -> tuple[datetime, datetime]:
    year, month = int(period[:4]), int(period[5:7])
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    return _utc_bounds(start, end - timedelta(days=1))  # type: ignore[return-value]


def draw_sample(actor: User | None, unit: Unit, period: str, size: int | None = None) -> LogSample:
    """Draw a random sample of the unit's reads in `period` (YYYY-MM). One sample per unit and month."""
    try:
        datetime.strptime(period, "%Y-%m")
    except ValueError:
        raise SupervisionError(str(_l("Ange månad som ÅÅÅÅ-MM."))) from None
    if period > f"{utcnow():%Y-%m}":
        raise SupervisionError(str(_l("Månaden har inte börjat än.")))
    existing = db.session.scalar(select(LogSample).where(LogSample.unit_id == unit.id, LogSample.period == period))
    if existing is not None:
        return existing
    size = size or current_app.config["LOG_SAMPLE_SIZE"]
    lo, hi = _period_bounds(period)
    ids = list(db.session.scalars(select(AuditEvent.id).where(
        AuditEvent.actor_unit_id == unit.id, AuditEvent.action.in_(READ_ACTIONS), AuditEvent.outcome == "ok",
        AuditEvent.occurred_at >= lo, AuditEvent.occurred_at < hi)))
    chosen = sorted(secrets.SystemRandom().sample(ids, min(size, len(ids))))
    sample = LogSample(id=uuid.uuid4(), unit_id=unit.id, period=period, size=len(chosen), population=len(ids),
                       created_by=actor.id if actor else None)
    sample.items = [LogSampleItem(id=uuid.uuid4(), event_id=event_id) for event_id in chosen]
    db.session.add(sample)
    audit.record("create", actor=actor, object_type="log_sample", object_id=sample.id,
                 details={"period": period, "size": len(chosen), "population": len(ids)})
    return sample


def ensure_monthly_samples(actor: User | None = None, today: date | None = None) -> list[LogSample]:
    """Draw last month's sample for every active unit that has none yet (run monthly, or on first visit)."""
    period = previous_period(today)
    return [draw_sample(actor, unit, period) for unit in db.session.scalars(select(Unit).where(Unit.active.is_(True)))]


def list_samples(viewer: User) -> list[LogSample]:
    query = policy.scope_log_samples(viewer, select(LogSample)).order_by(LogSample.period.desc())
    samples = list(db.session.scalars(query))
    audit.record("list", object_type="log_sample")
    return samples


def sample_events(sample: LogSample) -> dict[int, AuditEvent]:
    """The audit events a sample points at (reading them is itself audited)."""
    audit.record("view", object_type="log_sample", object_id=sample.id)
    ids = [item.event_id for item in sample.items]
    return {e.id: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids or [0])))}


def check_item(actor: User, sample: LogSample, item_id: uuid.UUID, finding: str, note: str | None) -> None:
    if sample.is_signed:
        raise SupervisionError(str(_l("Granskningen är redan signerad och kan inte ändras.")))
    if finding not in FINDINGS:
        raise SupervisionError(str(_l("Välj en bedömning.")))
    item = next((i for i in sample.items if i.id == item_id), None)
    if item is None:
        policy.deny(actor, object_type="log_sample_item", object_id=item_id, status=404)
    item.finding = finding
    item.checked_by = actor.id
    item.checked_at = utcnow()
    item.note_enc = _encrypt_note(note, "log_sample_items", "note_enc", item.id)
    audit.record("review", object_type="log_sample_item", object_id=item.id,
                 details={"sample": str(sample.id), "finding": finding})


def sign_off(actor: User, sample: LogSample, conclusion: str, comment: str | None) -> None:
    if sample.is_signed:
        raise SupervisionError(str(_l("Granskningen är redan signerad.")))
    if conclusion not in CONCLUSIONS:
        raise SupervisionError(str(_l("Välj en slutsats.")))
    unchecked = [i for i in sample.items if i.finding is None]
    if unchecked:
        raise SupervisionError(str(_l("Alla %(n)s poster måste bedömas innan granskningen signeras.",
                                      n=len(sample.items))))
    if conclusion == "no_deviation" and any(i.finding == "deviation" for i in sample.items):
        raise SupervisionError(str(_l("Minst en post är bedömd som avvikelse; välj en annan slutsats.")))
    sample.signed_by = actor.id
    sample.signed_at = utcnow()
    sample.conclusion = conclusion
    sample.comment_enc = _encrypt_note(comment, "log_samples", "comment_enc", sample.id)
    audit.record("sign", object_type="log_sample", object_id=sample.id,
                 details={"period": sample.period, "conclusion": conclusion})


def _rule_unassigned_case_reads(viewer: User, since: datetime):
    from caseapp.cases.operations import unassigned_reads

    return unassigned_reads(viewer, since)


ATTENTION_RULES.append(_rule_unassigned_case_reads)
