"""The raw database holds no personal data in clear: not the demo people, not test people, and no valid
personnummer pattern at all. SQLite: the bytes of the database file, its WAL and shared-memory file.
PostgreSQL: `pg_dump --data-only`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from caseapp.demo import load_demo
from caseapp.extensions import db as _db
from caseapp.people import operations as ops
from caseapp.people.demo import DEMO_PEOPLE
from caseapp.people.models import Person, Protection
from caseapp.people.personnummer import InvalidPersonnummer, parse
from tests.conftest import empty_tables, is_postgres, make_app
from tests.people.conftest import number

EXTRA_PEOPLE = [
    # given, family, number, address, phone, e-mail, notes
    ("Zelda", "Östlundh", number(date(1995, 7, 4), 238), "Blackebergsvägen 77\n168 50 Bromma", "070-174 06 55",
     "zelda.ostlundh@example.com", "Orosanmälan från förskolan om Zelda."),
    ("Quintus", "Bergqvarn", number(date(2008, 9, 15), 239), "Grimsta gårdsväg 3\n162 55 Vällingby", None, None,
     "Träffas varannan vecka. <script>alert(1)</script>"),
    ("Ylva-Britt", "Maarsson", number(date(1950, 4, 17), 238, samordning=True), None, "+46 70 174 06 56", None,
     "Samordningsnummer; tolk behövs."),
]
CHANGED_NOTE = "Uppföljning i november: fortsatt kontakt."

# 12 or 10 digits, optionally with - or +, not part of a longer alphanumeric run; then validated (date + Luhn).
PNR_PATTERN = re.compile(rb"(?<![0-9A-Za-z])(?:[0-9]{8}[-+]?[0-9]{4}|[0-9]{6}[-+]?[0-9]{4})(?![0-9A-Za-z])")


def plaintexts() -> set[str]:
    """Every personal value of the demo and test people, in the forms they could be written in."""
    values: set[str] = set()
    rows = [(g, f, n, a, p, e, notes) for (_u, _by, g, f, n, _r, _prot, a, p, e, notes) in DEMO_PEOPLE]
    rows += EXTRA_PEOPLE
    for given, family, ident, address, phone, email, notes in rows:
        values |= {given, family, f"{given} {family}", given.lower(), family.lower()}
        values |= set(given.split("-")) | set(family.split("-"))
        if ident.isdigit() and len(ident) == 12:
            values |= {ident, ident[2:], f"{ident[:8]}-{ident[8:]}", f"{ident[2:8]}-{ident[8:]}",
                       f"{ident[2:8]}+{ident[8:]}"}
        else:
            values.add(ident)
        for value in (address, phone, email, notes):
            if value:
                values.add(value)
                values |= {line for line in value.splitlines() if line}
        if phone:
            values.add("".join(ch for ch in phone if ch.isdigit()))
    values |= {CHANGED_NOTE, "Uppföljning"}
    return {v for v in values if len(v) >= 4}


def known_identifiers() -> set[bytes]:
    """Every UUID (hex and text form) and 32-hex request id in the database: random identifiers, not personal
    data, removed before scanning so that a digit run inside one cannot pass for a personnummer."""
    found: set[bytes] = set()
    for table in _db.metadata.sorted_tables:
        for row in _db.session.execute(select(table)):
            for value in row:
                if isinstance(value, uuid.UUID):
                    found |= {value.hex.encode(), str(value).encode()}
                elif isinstance(value, str) and re.fullmatch(r"[0-9a-f]{32}", value):
                    found.add(value.encode())
    return found


def pg_dump_data(url) -> bytes:
    """`pg_dump --data-only` of the PostgreSQL database at `url` (a SQLAlchemy URL): the raw bytes to scan."""
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is not installed"
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    args = [pg_dump, "--data-only", "--no-owner", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres", url.database]
    return subprocess.run(args, check=True, capture_output=True, env=env, timeout=120).stdout


def valid_personnummer_in(raw: bytes) -> list[str]:
    hits = []
    for match in PNR_PATTERN.finditer(raw):
        candidate = match.group().decode()
        try:
            parse(candidate)
        except InvalidPersonnummer:
            continue
        hits.append(candidate)
    return hits


# Timestamps and dates as SQLite stores them ("2026-11-25 14:10:46.831275"). Two such columns side by side in a
# row read "...46.8312752026-11-25...": the microseconds and the next year form a run of ten digits, a valid
# number one time in a few hundred. They are machine-written and never hold personal data, so they are blanked.
TIMESTAMP = re.compile(rb"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?)?")


def assert_clean(raw: bytes, identifiers: set[bytes]) -> None:
    raw = TIMESTAMP.sub(lambda m: b"-" * len(m.group()), raw)
    for ident in sorted(identifiers, key=len, reverse=True):
        raw = raw.replace(ident, b"#" * len(ident))
    leaks = sorted(v for v in plaintexts() if v.encode() in raw)
    assert not leaks, f"personal data in clear in the raw database: {leaks}"
    assert not valid_personnummer_in(raw), valid_personnummer_in(raw)


def populate() -> None:
    """Demo data plus people with every field filled, an edit (history), searches, a view and a shredding."""
    load_demo()
    _db.session.commit()
    from caseapp.accounts.models import Unit

    unit = _db.session.scalar(select(Unit).where(Unit.code == "unga-i-risk"))
    created = []
    for given, family, ident, address, phone, email, notes in EXTRA_PEOPLE:
        created.append(ops.register_person(None, ops.PersonData(
            given_name=given, family_name=family, identity=ident, address=address, phone=phone, email=email,
            notes=notes, protection=Protection.SEKRETESSMARKERING), unit_id=unit.id))
    _db.session.commit()
    data = ops.PersonData.of(created[0])
    data.notes = CHANGED_NOTE
    data.address = None
    ops.update_person(None, created[0], data)
    ops.shred_person(None, created[2])
    ops.search_by_name(None, "Zelda")
    ops.search_by_identity(None, EXTRA_PEOPLE[0][2])
    ops.view_person(None, created[1])
    _db.session.commit()
    # Sanity: the data really is there, and readable with the keys.
    _db.session.expire_all()
    assert _db.session.get(Person, created[0].id).notes == CHANGED_NOTE
    assert _db.session.scalar(select(Person).where(Person.id == created[1].id)).family_name == "Bergqvarn"


def test_plaintexts_cover_the_demo_people():
    values = plaintexts()
    assert "Göran Lindqvist" in values and "950512+2391" in values and "19950512-2391" in values
    assert "Råckstavägen 14" in values and "0701740605" in values
    assert not valid_personnummer_in(b"x 2026-11-25 14:10:46.831275 abc123def4567890 1234")
    # Adjacent timestamps are blanked before the scan (0412732026 would otherwise pass for a samordningsnummer).
    stamps = b"\x002026-11-25 15:03:12.0412732026-11-25 15:03:12.041280\x00"
    assert valid_personnummer_in(stamps)
    assert_clean(stamps, set())
    assert valid_personnummer_in(b"\x00189001019802\x00") and valid_personnummer_in(b" 900101+9802,")


def test_sqlite_file_and_wal_hold_no_personal_data(test_config, tmp_path):
    path = tmp_path / "raw.db"
    app = make_app(test_config, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        _db.create_all()
        with _db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode=WAL")).scalar() == "wal"
        populate()
        identifiers = known_identifiers()
        _db.session.commit()
        files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
        assert Path(f"{path}-wal").exists() and Path(f"{path}-wal").stat().st_size > 0
        raw_live = b"".join(p.read_bytes() for p in files)
        _db.session.remove()
        _db.engine.dispose()  # checkpoints the WAL into the file
    raw_after = path.read_bytes()
    assert b"person_keys" in raw_live  # the schema is there: we read the right file
    assert_clean(raw_live, identifiers)
    assert_clean(raw_after, identifiers)


@pytest.mark.skipif(not is_postgres(), reason="needs TEST_DATABASE_URL pointing at PostgreSQL")
@pytest.mark.postgres
def test_pg_dump_holds_no_personal_data(app):
    url = make_url(os.environ["TEST_DATABASE_URL"])
    with app.app_context():
        empty_tables()
        try:
            populate()
            identifiers = known_identifiers()
            _db.session.commit()
            dump = pg_dump_data(url)
        finally:
            _db.session.remove()
            empty_tables()
    assert b"COPY public.person_keys" in dump and b"COPY public.people" in dump
    assert_clean(dump, identifiers)
