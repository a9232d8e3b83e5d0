"""Benchmark: the people registry with field encryption.

    python bench/bench_people.py [--quick]

1. save_load  Register 1,000 people through `people.operations.register_person` (validation, duplicate check,
   data key, 7 encrypted fields, blind indexes, audit event), one commit per 100 people (`save_batched`) and
   one commit per person as a request does (`save_per_request`); then load them: bulk (one query for all,
   every field read: `load_bulk`; only name and number, as the list page: `load_list`) and one by one (a
   fresh transaction per person, as the person page does: `load_each`). The same code runs with
   `fields._benchmark_passthrough()`, where the column type stores plain UTF-8 and no data key is created,
   stored or unwrapped: the ratio is what encryption costs. Both modes share one database (a unit each) and
   alternate in small chunks; figures are medians, in this process's CPU time (see CLOCK).
2. rotate     `caseapp keys rotate` (new KEK, rewrap every data key) over N people on SQLite (N = 100,000;
   15,000 with --quick). The people are generated with bulk inserts and real encryption.
3. search     Find one person among those N by personnummer through the blind index against
   decrypt-and-scan (unwrap every data key, decrypt every number, compare), the same Core code but for the
   index join: `search_index_*` and `search_ratio`. `search_operation_*` is the whole
   `operations.search_by_identity` (parse, policy scope with casework visibility, ORM, audit events).

With the load figures comes `*_crypto_floor_us_per_person` and `*_floor_ratio` (`crypto_floor_us`): the AES-GCM
work alone that one data key per person requires, and the ratio an encrypted load would have if it added
nothing else to the plain load of the same run.

The last stdout line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("CASEAPP_INSTANCE_DIR", tempfile.mkdtemp(prefix="caseapp-bench-"))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

import config as config_module  # noqa: E402
from caseapp import create_app  # noqa: E402
from caseapp.accounts import operations as account_ops  # noqa: E402
from caseapp.accounts.models import Role, Unit  # noqa: E402
from caseapp.extensions import db  # noqa: E402
from caseapp.people import operations as ops  # noqa: E402
from caseapp.people import personnummer  # noqa: E402
from caseapp.people.models import Person, PersonKey, PersonSearchIndex  # noqa: E402
from caseapp.people.operations import PURPOSE_RESERVNUMMER  # noqa: E402
from caseapp.people.testnumbers import PUBLISHED_PERSONNUMMER, synthetic_identity  # noqa: E402
from caseapp.security import fields  # noqa: E402
from caseapp.security.crypto import PURPOSE_NAME_TOKEN, PURPOSE_PERSONNUMMER, DataKey, wrap_aad  # noqa: E402
from caseapp.security.keys import ensure_key_files  # noqa: E402
from caseapp.security.keys_cli import keys as keys_cli  # noqa: E402
from caseapp.timeutil import utcnow  # noqa: E402

# Save and load are ratios of two modes run in turn on a shared two-core machine: they are timed in this
# process's CPU time, which other processes' load does not inflate (SQLite in WAL/NORMAL mode hardly waits for
# the disk). Rotation and search have absolute goals and are timed on the wall clock.
CLOCK = time.process_time

GIVEN = ["Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sara", "Mikael", "Emma", "Oskar", "Elin", "Ahmed",
         "Fatima", "Nils", "Ida", "Omar", "Lina", "Hugo", "Maja", "Ali"]
FAMILY = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
          "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Hassan", "Lindberg", "Holm", "Ek"]
NOTES = "Kontakt via skolkuratorn. Uppföljning planerad om fyra veckor tillsammans med vårdnadshavare."


def number_for(i: int) -> str:
    """Person i's identity: a published test number for the first ones, then a reservnummer (synthetic_identity)."""
    return synthetic_identity(i)[0]


def is_reserv(i: int) -> bool:
    return synthetic_identity(i)[1]


def person_data(i: int) -> ops.PersonData:
    return ops.PersonData(
        given_name=GIVEN[i % len(GIVEN)], family_name=FAMILY[(i // 7) % len(FAMILY)], identity=number_for(i), reservnummer=is_reserv(i),
        address=f"Vällingbyvägen {i % 300 + 1}\n162 {i % 90 + 10} Vällingby", phone=f"070-174 {i % 100:02d} {i % 97:02d}",
        email=f"person{i}@example.com", notes=NOTES)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL with synchronous=NORMAL, as one would run SQLite for a service: a commit does not wait for fsync,
    so the figures measure the code, not the disk."""
    if isinstance(dbapi_conn, sqlite3.Connection):
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def make_app(tmp: Path, name: str):
    keys = tmp / f"keys-{name}"
    ensure_key_files(keys)

    class Cfg(config_module.TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp / (name + '.db')}"
        KEY_DIR = str(keys)
        KEY_STRICT_PERMISSIONS = False
        AUDIT_SINK = "none"

    return create_app(Cfg)


def setup_unit(code: str = "unga-i-risk") -> tuple[uuid.UUID, uuid.UUID]:
    unit = Unit(code=code, name=f"Enhet {code}", shares_cases=True)
    db.session.add(unit)
    db.session.flush()
    user, _ = account_ops.create_user(None, username=f"bench-{code}", display_name="Bench Användare",
                                      role=Role.HANDLAGGARE, unit=unit, password="Korrekt-Häst-Batteri-42")
    db.session.commit()
    return unit.id, user.id


def actor_of(user_id: uuid.UUID):
    from caseapp.accounts.models import User

    return db.session.get(User, user_id)


# ------------------------------------------------------------------------------------------ 1. save and load


def save_people(unit_id, user_id, n: int, offset: int, per_commit: int) -> tuple[float, list[uuid.UUID]]:
    """Register n people, committing every `per_commit` (1: one transaction per person, as a request does)."""
    ids = []
    actor = actor_of(user_id)
    gc.collect()
    start = CLOCK()
    for i in range(n):
        person = ops.register_person(actor, person_data(offset + i), unit_id=unit_id)
        ids.append(person.id)
        if (i + 1) % per_commit == 0:
            db.session.commit()
    db.session.commit()
    return CLOCK() - start, ids


def read_all(person: Person) -> int:
    return sum(len(v or "") for v in (person.given_name, person.family_name, person.identity, person.address,
                                       person.phone, person.email, person.notes))


def read_list_fields(person: Person) -> int:
    """What the list and search pages show: name and number."""
    return len(person.given_name or "") + len(person.family_name or "") + len(person.identity or "")


def load_bulk(unit_id, read=read_all) -> tuple[float, int]:
    """(seconds, people loaded): every person of the unit in one query."""
    db.session.remove()
    gc.collect()
    start = CLOCK()
    people = db.session.scalars(db.select(Person).where(Person.registered_unit_id == unit_id)).unique().all()
    total = sum(read(p) for p in people)
    elapsed = CLOCK() - start
    assert total > 0
    db.session.remove()
    return elapsed, len(people)


def load_each(ids) -> float:
    db.session.remove()
    gc.collect()
    start = CLOCK()
    for pid in ids:
        read_all(db.session.get(Person, pid))
        db.session.commit()  # a new transaction (and key scope) per person, as one page view per request
        db.session.expunge_all()
    elapsed = CLOCK() - start
    db.session.remove()
    return elapsed


MODES = ("encrypted", "plain")


def crypto_floor_us(n_fields: int, people: int = 1000, rounds: int = 9) -> float:
    """The AES-GCM work that one data key per person makes unavoidable, in µs per person, with nothing else:
    unwrap the person's 32-byte data key under the KEK (one GCM decryption), build the person's AESGCM object
    (its key schedule), and decrypt `n_fields` 60-byte fields, straight through `cryptography` with every input
    prepared in advance (no header parsing, no AAD assembly, no ORM). Whatever the code around it does, an
    encrypted load costs at least the plain load plus this; `*_floor_ratio` says what that allows."""
    kek = AESGCM(AESGCM.generate_key(bit_length=256))
    rows = []
    for _ in range(people):
        raw = AESGCM.generate_key(bit_length=256)
        wrap_nonce, aad = os.urandom(12), os.urandom(40)
        key = AESGCM(raw)
        values = []
        for _ in range(n_fields):
            nonce, field_aad = os.urandom(12), os.urandom(48)
            values.append((nonce, key.encrypt(nonce, b"x" * 60, field_aad), field_aad))
        rows.append((wrap_nonce, kek.encrypt(wrap_nonce, raw, aad), aad, values))
    times = []
    for _ in range(rounds):
        start = CLOCK()
        for wrap_nonce, wrapped, aad, values in rows:
            key = AESGCM(kek.decrypt(wrap_nonce, wrapped, aad))
            for nonce, blob, field_aad in values:
                key.decrypt(nonce, blob, field_aad)
        times.append((CLOCK() - start) / people)
    return statistics.median(times) * 1e6


def _mode(mode: str):
    return fields._benchmark_passthrough() if mode == "plain" else contextlib.nullcontext()


def bench_save_load(tmp: Path, n: int, n_requests: int, rounds: int, n_each: int) -> dict:
    """Both modes in one database, each in its own unit, alternating in small chunks so that drift and other
    load on the machine hit both alike; each figure is the median over the chunks or rounds."""
    app = make_app(tmp, "saveload")
    samples: dict[str, list[float]] = {}

    def sample(name: str, mode: str, seconds: float, people: int) -> None:
        samples.setdefault(f"{name}_{mode}", []).append(seconds / people)

    with app.app_context():
        db.create_all()
        units = {mode: setup_unit(f"unit-{mode}") for mode in MODES}
        ids: dict[str, list[uuid.UUID]] = {mode: [] for mode in MODES}
        offset = 0
        for chunk in range(n // 100):  # batched: 100 people per transaction
            for mode in (MODES if chunk % 2 == 0 else MODES[::-1]):
                with _mode(mode):
                    seconds, new_ids = save_people(*units[mode], 100, offset, per_commit=100)
                offset += 100
                ids[mode] += new_ids
                sample("save_batched", mode, seconds, 100)
        for chunk in range(n_requests // 20):  # one transaction per person, as a request
            for mode in (MODES if chunk % 2 == 0 else MODES[::-1]):
                with _mode(mode):
                    seconds, _ = save_people(*units[mode], 20, offset, per_commit=1)
                offset += 20
                sample("save_per_request", mode, seconds, 20)
        raw = db.session.execute(db.select(Person.notes_enc).where(Person.id == ids["encrypted"][0])).scalar()
        assert NOTES.encode() not in raw, "not encrypted?"
        for r in range(rounds):
            for mode in (MODES if r % 2 == 0 else MODES[::-1]):
                unit_id = units[mode][0]
                with _mode(mode):
                    # (per person loaded: the unit holds the batched and the one-per-transaction people)
                    sample("load_bulk", mode, *load_bulk(unit_id))
                    sample("load_list", mode, *load_bulk(unit_id, read_list_fields))
                    sample("load_each", mode, load_each(ids[mode][:n_each]), n_each)
    out: dict = {"people": n, "people_per_request_save": n_requests, "load_rounds": rounds,
                 "people_loaded_one_by_one": n_each}
    for what in ("save_batched", "save_per_request", "load_bulk", "load_list", "load_each"):
        enc = statistics.median(samples[f"{what}_encrypted"])
        plain = statistics.median(samples[f"{what}_plain"])
        out[f"{what}_encrypted_us_per_person"] = round(enc * 1e6, 1)
        out[f"{what}_plain_us_per_person"] = round(plain * 1e6, 1)
        out[f"{what}_ratio"] = round(enc / plain, 3)
    # the least any encrypted load could cost against the same plain load (see crypto_floor_us)
    for what, n_fields in (("load_bulk", 7), ("load_list", 3), ("load_each", 7)):
        floor = crypto_floor_us(n_fields)
        plain = out[f"{what}_plain_us_per_person"]
        out[f"{what}_crypto_floor_us_per_person"] = round(floor, 2)
        out[f"{what}_floor_ratio"] = round((plain + floor) / plain, 3)
    return out


# --------------------------------------------------------------------------------- 2 + 3. many people, rotate


def generate_people(unit_id, n: int) -> None:
    """N people with real encryption, written with bulk inserts (Core executemany), 5 fields each."""
    provider = fields.key_ring().provider
    version = provider.active_kek_version()
    indexer = fields.blind_indexer()
    people_t, keys_t, index_t = Person.__table__, PersonKey.__table__, PersonSearchIndex.__table__
    now = utcnow()
    batch = 5000
    for start in range(0, n, batch):
        people, keys, index = [], [], []
        for i in range(start, min(n, start + batch)):
            pid = uuid.uuid4()
            raw_key = os.urandom(32)
            key = DataKey(uuid.uuid4(), raw_key)
            wrapped = provider.wrap_data_key(version, raw_key, wrap_aad(pid, version, key.key_id))
            d = person_data(i)
            people.append({
                "id": pid, "registered_unit_id": unit_id, "version": 1, "created_at": now, "updated_at": now,
                "reservnummer": is_reserv(i), "protection": "none",
                "given_name_enc": key.encrypt(d.given_name, "people", "given_name_enc", pid),
                "family_name_enc": key.encrypt(d.family_name, "people", "family_name_enc", pid),
                "identity_enc": key.encrypt(d.identity, "people", "identity_enc", pid),
                "address_enc": key.encrypt(d.address, "people", "address_enc", pid),
                "notes_enc": key.encrypt(d.notes, "people", "notes_enc", pid),
            })
            keys.append({"person_id": pid, "key_id": key.key_id, "kek_version": version, "wrapped": wrapped,
                         "created_at": now})
            index.append({"person_id": pid, "kind": "res", "digest": indexer.compute(
                PURPOSE_RESERVNUMMER, d.identity.replace("-", ""))} if is_reserv(i) else
                {"person_id": pid, "kind": "pnr", "digest": indexer.compute(PURPOSE_PERSONNUMMER, d.identity)})
            for digest in indexer.name_token_indexes(f"{d.given_name} {d.family_name}", PURPOSE_NAME_TOKEN):
                index.append({"person_id": pid, "kind": "name", "digest": digest})
        db.session.execute(people_t.insert(), people)
        db.session.execute(keys_t.insert(), keys)
        db.session.execute(index_t.insert(), index)
        db.session.commit()


def decrypt_and_scan(unit_id, digits12: str) -> list[uuid.UUID]:
    """The baseline without blind indexes: every data key unwrapped, every number decrypted and compared."""
    provider = fields.key_ring().provider
    rows = db.session.execute(
        db.select(Person.id, Person.identity_enc, PersonKey.key_id, PersonKey.kek_version, PersonKey.wrapped)
        .join(PersonKey, PersonKey.person_id == Person.id)
        .where(Person.registered_unit_id == unit_id, PersonKey.wrapped.is_not(None)))
    found = []
    for pid, blob, key_id, version, wrapped in rows:
        raw = provider.unwrap_data_key(version, wrapped, wrap_aad(pid, version, key_id))
        if DataKey(key_id, raw).decrypt(blob, "people", "identity_enc", pid) == digits12:
            found.append(pid)
    return found


def index_lookup(unit_id, digits12: str) -> list[uuid.UUID]:
    """The same as `decrypt_and_scan`, through the blind index: one indexed lookup, candidates decrypted and
    confirmed (no policy scope beyond the unit, no audit event: the bare cost of the lookup)."""
    provider = fields.key_ring().provider
    digest = fields.blind_indexer().compute(PURPOSE_PERSONNUMMER, digits12)
    rows = db.session.execute(
        db.select(Person.id, Person.identity_enc, PersonKey.key_id, PersonKey.kek_version, PersonKey.wrapped)
        .join(PersonSearchIndex, PersonSearchIndex.person_id == Person.id)
        .join(PersonKey, PersonKey.person_id == Person.id)
        .where(PersonSearchIndex.kind == "pnr", PersonSearchIndex.digest == digest,
               Person.registered_unit_id == unit_id, PersonKey.wrapped.is_not(None)))
    found = []
    for pid, blob, key_id, version, wrapped in rows:
        raw = provider.unwrap_data_key(version, wrapped, wrap_aad(pid, version, key_id))
        if DataKey(key_id, raw).decrypt(blob, "people", "identity_enc", pid) == digits12:
            found.append(pid)
    return found


def bench_many(tmp: Path, n: int, searches: int) -> dict:
    app = make_app(tmp, "many")
    out: dict = {"many_people": n}
    with app.app_context():
        db.create_all()
        unit, user_id = setup_unit()
        start = time.perf_counter()
        generate_people(unit, n)
        out["generate_s"] = round(time.perf_counter() - start, 2)

        # Search: blind index against decrypt-and-scan, for the same random people.
        rng = random.Random(7)
        # Only people with a (published) personnummer can be searched by one; the scan still decrypts all n.
        targets = [rng.randrange(min(n, len(PUBLISHED_PERSONNUMMER))) for _ in range(searches)]
        op_times, lookup_times, scan_times = [], [], []
        for i in targets:
            written = number_for(i)
            # Any written form: every other search by the 10-digit form, which has '+' for someone of 100 or more
            # (a few published test numbers are of people born in 1890).
            written = personnummer.parse(written).short() if i % 2 else written
            db.session.remove()
            actor = actor_of(user_id)
            t0 = time.perf_counter()
            hits = ops.search_by_identity(actor, written)
            op_times.append(time.perf_counter() - t0)
            assert len(hits) == 1 and hits[0].identity == number_for(i)
            hit_id = hits[0].id
            db.session.rollback()  # the audit events of the bench's searches are not kept
            db.session.remove()
            t0 = time.perf_counter()
            found = index_lookup(unit, number_for(i))
            lookup_times.append(time.perf_counter() - t0)
            assert found == [hit_id]
        for i in targets[: max(1, searches // 10)]:
            db.session.remove()
            t0 = time.perf_counter()
            found = decrypt_and_scan(unit, number_for(i))
            scan_times.append(time.perf_counter() - t0)
            assert len(found) == 1
        lookup_ms = statistics.median(lookup_times) * 1000
        op_ms = statistics.median(op_times) * 1000
        scan_ms = statistics.median(scan_times) * 1000
        out.update({
            "search_index_median_ms": round(lookup_ms, 3),
            "search_index_p95_ms": round(sorted(lookup_times)[int(len(lookup_times) * 0.95) - 1] * 1000, 3),
            "search_operation_median_ms": round(op_ms, 3),
            "search_scan_median_ms": round(scan_ms, 1),
            "search_ratio": round(scan_ms / lookup_ms, 1),
            "search_ratio_operation": round(scan_ms / op_ms, 1),
            "searches": len(lookup_times),
            "scans": len(scan_times),
        })

        # Rotation through the real CLI command.
        db.session.remove()
        runner = app.test_cli_runner()
        t0 = time.perf_counter()
        result = runner.invoke(keys_cli, ["rotate"])
        out["rotate_s"] = round(time.perf_counter() - t0, 2)
        assert result.exit_code == 0, result.output
        assert f"Rewrapped {n} data key(s)" in result.output, result.output
        db.session.remove()
        versions = {v for (v,) in db.session.execute(db.select(PersonKey.kek_version).distinct())}
        assert versions == {2}, versions
        person = db.session.scalars(db.select(Person).limit(1)).first()
        assert person.identity and person.notes == NOTES  # still readable after the rotation
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller figures, finishes within 30 s")
    args = parser.parse_args()
    n_save, n_requests, rounds, n_each, n_many, searches = (
        (1000, 200, 3, 200, 15_000, 60) if args.quick else (1000, 1000, 7, 1000, 100_000, 300))
    with tempfile.TemporaryDirectory(prefix="caseapp-bench-people-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        save_load = bench_save_load(tmp, n_save, n_requests, rounds, n_each)
        print(f"save/load: {save_load}", file=sys.stderr)
        many = bench_many(tmp, n_many, searches)
        print(f"rotate/search: {many}", file=sys.stderr)
    out = {
        "bench": "people",
        "quick": args.quick,
        **save_load,
        **many,
        "goals": {"save_ratio": "<= 1.2", "load_ratio": "<= 1.1", "rotate_s_100k": "< 10",
                  "search_ratio": "> 1000", "search_index_ms": "< 5"},
        "total_s": round(time.perf_counter() - t0, 1),
        "python": platform.python_version(),
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
