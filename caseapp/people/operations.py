"""People registry operations: register, update (versioned), view, list, search, shred.

Plain arguments in (the acting user, the record, the data). Each operation validates, checks the rules that
belong to the data (not access: that is `policy`), changes the records and writes its audit event with the
person as subject. Nothing here commits; the request or CLI job does, once. Search terms are never logged:
only how the search was made and how many it found.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, event, func, select
from sqlalchemy.orm import Session

from caseapp.extensions import db
from caseapp.i18n import lazy_gettext as _l
from caseapp.people import personnummer
from caseapp.people.models import Person, PersonSearchIndex, PersonVersion, Protection
from caseapp.security import audit, policy
from caseapp.security.crypto import PURPOSE_NAME_TOKEN, PURPOSE_PERSONNUMMER, name_tokens
from caseapp.security.fields import blind_indexer, key_scope
from caseapp.timeutil import utcnow

PURPOSE_RESERVNUMMER = "person.reservnummer"
KIND_PNR, KIND_RES, KIND_NAME = "pnr", "res", "name"

MAX_LENGTH = {"given_name": 100, "family_name": 100, "identity": 40, "address": 300, "phone": 40,
              "email": 254, "notes": 10000}
MULTILINE = {"address", "notes"}
MAX_SEARCH_TOKENS = 6
MAX_HITS = 100
PAGE_SIZE = 50

# The parser's messages (Swedish), listed here so that they are extracted for translation.
_PNR_MESSAGES = (
    _l("Fel format: ange ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN."),
    _l("Kontrollsiffran stämmer inte."),
    _l("Datumet finns inte."),
    _l("Födelsedatumet ligger i framtiden."),
    _l("Fel format: '+' används bara i den tiosiffriga formen ÅÅMMDD+NNNN."),
    _l("Födelseåret är orimligt."),
)


def pnr_message(exc: personnummer.InvalidPersonnummer) -> str:
    return _(str(exc))


class PersonError(ValueError):
    """Invalid person data: `errors` maps field names to Swedish messages for the form."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass
class Duplicates:
    """People already registered with the same number: those the user may see, and whether there are others."""

    visible: list[Person] = field(default_factory=list)
    hidden: bool = False

    def __bool__(self) -> bool:
        return bool(self.visible) or self.hidden


class DuplicateIdentity(Exception):
    """The number is already registered; the caller asks the user to confirm."""

    def __init__(self, duplicates: Duplicates) -> None:
        self.duplicates = duplicates
        super().__init__("identity number already registered")


@dataclass
class PersonData:
    given_name: str | None = None
    family_name: str | None = None
    identity: str | None = None
    reservnummer: bool = False
    protection: Protection | str = Protection.NONE
    address: str | None = None
    phone: str | None = None
    email: str | None = None
    notes: str | None = None

    @classmethod
    def of(cls, person: Person) -> PersonData:
        return cls(**{f.name: getattr(person, f.name) for f in dataclasses.fields(cls)})


TEXT_FIELDS = ("given_name", "family_name", "identity", "address", "phone", "email", "notes")


# ---------------------------------------------------------------------------------------------- validation


# Unicode category Cc (C0, DEL, C1 controls); multi-line fields may keep newline and tab.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean_text(name: str, value: Any, errors: dict[str, str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = _("Ogiltigt värde.")
        return None
    value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors[name] = _("Texten innehåller ogiltiga tecken.")
        return None
    if name not in MULTILINE and "\n" in value:
        errors[name] = _("Fältet får inte innehålla radbrytningar.")
        return None
    if (_CONTROL_MULTILINE if name in MULTILINE else _CONTROL).search(value):
        errors[name] = _("Texten innehåller otillåtna styrtecken.")
        return None
    if len(value) > MAX_LENGTH[name]:
        errors[name] = _("Högst %(max)d tecken (du skrev %(length)d).", max=MAX_LENGTH[name], length=len(value))
        return None
    return value


def _reservnummer_key(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def clean(data: PersonData) -> PersonData:
    """Validated, normalised copy of `data` (personnummer as 12 digits); raises PersonError."""
    errors: dict[str, str] = {}
    out = PersonData(**{name: _clean_text(name, getattr(data, name), errors) for name in TEXT_FIELDS})
    out.reservnummer = bool(data.reservnummer)
    try:
        out.protection = Protection(data.protection)
    except ValueError:
        errors["protection"] = _("Välj en nivå av skyddade personuppgifter.")
        out.protection = Protection.NONE
    for name, message in (("given_name", _("Ange förnamn.")), ("family_name", _("Ange efternamn."))):
        value = getattr(out, name)
        if value is None and name not in errors:
            errors[name] = message
        elif value is not None and not any(ch.isalpha() for ch in value):
            errors[name] = _("Namnet måste innehålla minst en bokstav.")
    if out.identity is None and "identity" not in errors:
        errors["identity"] = _("Ange personnummer, samordningsnummer eller reservnummer.")
    elif out.identity is not None and not out.reservnummer:
        try:
            out.identity = personnummer.normalise(out.identity)
        except personnummer.InvalidPersonnummer as exc:
            errors["identity"] = pnr_message(exc) + " " + _(
                "Saknar personen personnummer och samordningsnummer: kryssa i Reservnummer.")
    elif out.identity is not None and not _reservnummer_key(out.identity):
        errors["identity"] = _("Reservnumret måste innehålla minst en bokstav eller siffra.")
    if out.phone is not None and "phone" not in errors and (
            not all(ch.isdigit() or ch in " +-()" for ch in out.phone) or not any(ch.isdigit() for ch in out.phone)):
        errors["phone"] = _("Telefonnumret får bara innehålla siffror, mellanslag, +, - och parenteser.")
    if out.email is not None and "email" not in errors:
        local, _at, domain = out.email.partition("@")
        if not local or "." not in domain or any(ch.isspace() or ch == "@" for ch in local + domain) \
                or domain.startswith(".") or domain.endswith("."):
            errors["email"] = _("Ange en e-postadress som namn@exempel.se.")
    if isinstance(out.protection, Protection) and out.protection.forbids_address and out.address is not None:
        errors["address"] = _(
            "Adressen sparas inte för personer med skyddad folkbokföring eller fingerade personuppgifter. "
            "Töm fältet.")
    if errors:
        raise PersonError(errors)
    return out


# ------------------------------------------------------------------------------------------- blind indexes


def _identity_index(data: PersonData) -> tuple[str, bytes] | None:
    if data.identity is None:
        return None
    indexer = blind_indexer()
    if data.reservnummer:
        return KIND_RES, indexer.compute(PURPOSE_RESERVNUMMER, _reservnummer_key(data.identity))
    return KIND_PNR, indexer.compute(PURPOSE_PERSONNUMMER, data.identity)


def _index_rows(person_id: uuid.UUID, data: PersonData) -> list[PersonSearchIndex]:
    rows = []
    ident = _identity_index(data)
    if ident is not None:
        rows.append(PersonSearchIndex(person_id=person_id, kind=ident[0], digest=ident[1]))
    name = f"{data.given_name or ''} {data.family_name or ''}"
    for digest in blind_indexer().name_token_indexes(name, PURPOSE_NAME_TOKEN):
        rows.append(PersonSearchIndex(person_id=person_id, kind=KIND_NAME, digest=digest))
    return rows


def _replace_index(person: Person, data: PersonData) -> None:
    db.session.execute(delete(PersonSearchIndex).where(PersonSearchIndex.person_id == person.id))
    db.session.add_all(_index_rows(person.id, data))


# ------------------------------------------------------------------------------------------------ writing


def _actor_id(actor: Any) -> uuid.UUID | None:
    return getattr(actor, "id", None)


_NO_ID = uuid.UUID(int=0)
_PENDING_IDENTITIES = "caseapp.people.pending_identities"
_DUPLICATES_QUERY = None


def _duplicates_query():
    """Built once: people having an index row (kind, digest), except one id (bound parameters)."""
    global _DUPLICATES_QUERY
    if _DUPLICATES_QUERY is None:
        _DUPLICATES_QUERY = (
            select(Person).join(PersonSearchIndex, PersonSearchIndex.person_id == Person.id)
            .where(PersonSearchIndex.kind == bindparam("kind"), PersonSearchIndex.digest == bindparam("digest"),
                   Person.id != bindparam("exclude")))
    return _DUPLICATES_QUERY


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING_IDENTITIES, None)


def _remember_identity(person: Person, data: PersonData) -> None:
    ident = _identity_index(data)
    if ident is not None:
        db.session().info.setdefault(_PENDING_IDENTITIES, {}).setdefault(ident, []).append(person)


def find_duplicates(actor: Any, data: PersonData, *, exclude: uuid.UUID | None = None) -> Duplicates:
    """Registered people with the same number. Only those the actor may see are decrypted and confirmed;
    of the others the actor learns only that they exist."""
    ident = _identity_index(data)
    result = Duplicates()
    if ident is None:
        return result
    session = db.session()
    params = {"kind": ident[0], "digest": ident[1], "exclude": exclude or _NO_ID}
    # Without an autoflush (so that registering many people in one transaction still batches its inserts);
    # people registered earlier in this transaction are remembered in the session until it ends.
    with session.no_autoflush:
        found = list(session.scalars(_duplicates_query(), params).unique())
    seen = {p.id for p in found}
    found += [p for p in session.info.get(_PENDING_IDENTITIES, {}).get(ident, ())
              if p.id not in seen and p.id != exclude]
    for other in found:
        if other.is_shredded:
            continue
        if not policy.can_see_person(actor, other):
            result.hidden = True
        elif (_reservnummer_key(other.identity or "") == _reservnummer_key(data.identity or "")
              if data.reservnummer else other.identity == data.identity):
            result.visible.append(other)
    return result


def _record_duplicate_check(actor: Any, duplicates: Duplicates) -> None:
    """The warning shows the user which visible records have the number: a lookup, logged as a search."""
    audit.record("search", actor=actor, object_type="person",
                 details={"by": "duplicate_check", "hits": len(duplicates.visible), "elsewhere": duplicates.hidden})
    for other in duplicates.visible:
        audit.record("search", actor=actor, object_type="person", object_id=other.id, subject_person_id=other.id,
                     details={"by": "duplicate_check"})


def _apply(target: Person | PersonVersion, data: PersonData, names: tuple[str, ...] | list[str]) -> None:
    for name in names:
        setattr(target, name, getattr(data, name))


def register_person(actor: Any, data: PersonData, *, unit_id: uuid.UUID,
                    confirm_duplicate: bool = False) -> Person:
    """Register a new person in `unit_id`. Raises PersonError, or DuplicateIdentity unless confirmed."""
    data = clean(data)
    duplicates = find_duplicates(actor, data)
    if duplicates and not confirm_duplicate:
        _record_duplicate_check(actor, duplicates)
        raise DuplicateIdentity(duplicates)
    now = utcnow()
    person = Person(id=uuid.uuid4(), registered_unit_id=unit_id, version=1, created_at=now, updated_at=now,
                    created_by=_actor_id(actor), updated_by=_actor_id(actor))
    db.session.add(person)
    key_scope().create_key(person.id, person)  # the key row follows the person's row at the flush
    _apply(person, data, ("reservnummer", "protection", *TEXT_FIELDS))
    db.session.add_all(_index_rows(person.id, data))
    _remember_identity(person, data)
    audit.record("create", actor=actor, object_type="person", object_id=person.id, subject_person_id=person.id,
                 details={"duplicate_confirmed": True} if duplicates else None)
    _protection_hook(actor, person, None)
    return person


def _protection_hook(actor: Any, person: Person, previous: Protection | None) -> None:
    """A person who becomes protected keeps the people working with them on the access list (issue 7)."""
    from caseapp.protection.operations import after_person_saved

    after_person_saved(actor, person, previous)


def update_person(actor: Any, person: Person, data: PersonData, *, confirm_duplicate: bool = False) -> list[str]:
    """Change a person's record, keeping the previous values as a history version. Returns the changed
    field names (nothing is written when nothing changed). Raises PersonError or DuplicateIdentity."""
    data = clean(data)
    current = PersonData.of(person)
    changed = [f.name for f in dataclasses.fields(PersonData) if getattr(current, f.name) != getattr(data, f.name)]
    if not changed:
        return []
    identity_changed = "identity" in changed or "reservnummer" in changed
    if identity_changed:
        duplicates = find_duplicates(actor, data, exclude=person.id)
        if duplicates and not confirm_duplicate:
            _record_duplicate_check(actor, duplicates)
            raise DuplicateIdentity(duplicates)
    now = utcnow()
    snapshot = PersonVersion(id=uuid.uuid4(), person_id=person.id, version=person.version,
                             recorded_at=person.updated_at, recorded_by=person.updated_by,
                             replaced_at=now, replaced_by=_actor_id(actor))
    _apply(snapshot, current, ("reservnummer", "protection", *TEXT_FIELDS))
    db.session.add(snapshot)
    addresses_removed = 0
    if isinstance(data.protection, Protection) and data.protection.forbids_address:
        # The address of someone with a protected address must not stay anywhere: history included.
        for old in [*person.versions, snapshot]:
            if old.address_enc is not None:
                old.address = None
                old.address_removed = True
                addresses_removed += 1
    _apply(person, data, changed)
    person.version += 1
    person.updated_at = now
    person.updated_by = _actor_id(actor)
    if identity_changed or "given_name" in changed or "family_name" in changed:
        _replace_index(person, data)
    if identity_changed:
        _remember_identity(person, data)
    details: dict[str, Any] = {"version": person.version, "changed": "/".join(changed)}
    if addresses_removed:
        details["addresses_removed"] = addresses_removed
    audit.record("update", actor=actor, object_type="person", object_id=person.id, subject_person_id=person.id,
                 details=details)
    if "protection" in changed:
        _protection_hook(actor, person, current.protection)
    return changed


def shred_person(actor: Any, person: Person) -> bool:
    """Crypto-shred: delete the person's wrapped data key, so every field encrypted under it (the record, its
    history, and later cases and notes) is unreadable for good, and drop the blind indexes. Returns False if
    it was already shredded. Database backups stay readable until the KEK that wrapped the key is retired
    (docs/crypto.md)."""
    from caseapp.people.models import PersonKey

    row = db.session.get(PersonKey, person.id)
    if row is None or row.wrapped is None:
        return False
    row.wrapped = None
    row.shredded_at = utcnow()
    db.session.execute(delete(PersonSearchIndex).where(PersonSearchIndex.person_id == person.id))
    key_scope().forget(person.id)
    audit.record("purge", actor=actor, object_type="person", object_id=person.id, subject_person_id=person.id,
                 details={"method": "crypto_shred"})
    return True


# ------------------------------------------------------------------------------------------------ reading


def view_person(actor: Any, person: Person, *, page: str = "record") -> None:
    details: dict[str, Any] = {"page": page}
    if person.is_shredded:
        details["state"] = "shredded"
    audit.record("view", actor=actor, object_type="person", object_id=person.id, subject_person_id=person.id,
                 details=details)


def history(actor: Any, person: Person) -> list[PersonVersion]:
    versions = list(db.session.scalars(
        select(PersonVersion).where(PersonVersion.person_id == person.id).order_by(PersonVersion.version.desc())))
    view_person(actor, person, page="history")
    return versions


@dataclass
class Page:
    people: list[Person]
    page: int
    pages: int
    total: int


def list_people(actor: Any, page: int = 1) -> Page:
    """The actor's unit's people, newest first (names are encrypted: there is no sorting by name in SQL)."""
    query = policy.visible_people(actor)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    people = list(db.session.scalars(
        query.order_by(Person.created_at.desc(), Person.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).unique())
    audit.record_list(actor, [person.id for person in people])
    return Page(people, page, pages, total)


def _visible_with_digests(actor: Any, kind: str, digests: list[bytes]) -> list[Person]:
    """Visible, unshredded people having every one of `digests` of `kind` (an index lookup, no decryption)."""
    wanted = sorted(set(digests))
    if len(wanted) == 1:  # (a number, or one name token: each person has a digest at most once, the key)
        matching = select(PersonSearchIndex.person_id).where(PersonSearchIndex.kind == kind,
                                                             PersonSearchIndex.digest == wanted[0]).subquery()
    else:
        # Every token: a person's rows for these digests, counted. count(*) and not count(DISTINCT digest):
        # (person, kind, digest) is the primary key, and PostgreSQL's DISTINCT aggregate sorts every group
        # (1.3 of 2.6 ms for two common name tokens, about 2,000 index rows).
        matching = (select(PersonSearchIndex.person_id)
                    .where(PersonSearchIndex.kind == kind, PersonSearchIndex.digest.in_(wanted))
                    .group_by(PersonSearchIndex.person_id)
                    .having(func.count() == len(wanted))).subquery()
    # A join from the (small) index match, not `id IN (...)`: SQLite would otherwise walk the whole unit.
    query = (policy.visible_people(actor).join(matching, matching.c.person_id == Person.id)
             .order_by(Person.created_at.desc()))
    return [p for p in db.session.scalars(query.limit(MAX_HITS * 2)).unique() if not p.is_shredded]


def _record_search(actor: Any, by: str, hits: list[Person]) -> None:
    """One event per search: how it searched (never the terms), how many it found, and the people found (one:
    subject_person_id; several: audit `subjects`, the lookup rows that "who has read" and verify use)."""
    audit.record("search", actor=actor, object_type="person", details={"by": by, "hits": len(hits)},
                 subjects=[p.id for p in hits] or None)


def search_by_identity(actor: Any, text: str) -> list[Person]:
    """People the actor may see with this personnummer/samordningsnummer, in any written form."""
    try:
        digits12 = personnummer.normalise(text or "")
    except personnummer.InvalidPersonnummer as exc:
        raise PersonError({"identity": pnr_message(exc)}) from None
    digest = blind_indexer().compute(PURPOSE_PERSONNUMMER, digits12)
    hits = [p for p in _visible_with_digests(actor, KIND_PNR, [digest])
            if not p.reservnummer and p.identity == digits12][:MAX_HITS]
    _record_search(actor, "personnummer", hits)
    return hits


def search_by_reservnummer(actor: Any, text: str) -> list[Person]:
    key = _reservnummer_key(text or "")
    if not key or len(text) > MAX_LENGTH["identity"]:
        raise PersonError({"reservnummer": _("Ange ett reservnummer.")})
    digest = blind_indexer().compute(PURPOSE_RESERVNUMMER, key)
    hits = [p for p in _visible_with_digests(actor, KIND_RES, [digest])
            if p.reservnummer and _reservnummer_key(p.identity or "") == key][:MAX_HITS]
    _record_search(actor, "reservnummer", hits)
    return hits


def search_by_name(actor: Any, text: str) -> list[Person]:
    """People the actor may see whose name has every token of `text` (whole tokens, case and accents folded)."""
    if text is not None and len(text) > 200:
        raise PersonError({"name": _("Högst %(max)d tecken (du skrev %(length)d).", max=200, length=len(text))})
    tokens = name_tokens(text or "")
    if not tokens:
        raise PersonError({"name": _("Ange minst ett namn.")})
    if len(tokens) > MAX_SEARCH_TOKENS:
        raise PersonError({"name": _("Ange högst %(max)d namn.", max=MAX_SEARCH_TOKENS)})
    digests = blind_indexer().compute_many(PURPOSE_NAME_TOKEN, tokens)
    hits = [p for p in _visible_with_digests(actor, KIND_NAME, digests)
            if tokens <= name_tokens(p.full_name)][:MAX_HITS]
    _record_search(actor, "name", hits)
    return hits


def user_names(ids) -> dict[uuid.UUID, str]:
    """Display names of staff (for "who changed this"); staff names are not personal data of clients."""
    from caseapp.accounts.models import User

    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}
