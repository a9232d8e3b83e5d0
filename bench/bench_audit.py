"""Benchmark: the tamper-evident audit chain.

    python bench/bench_audit.py [--quick] [--pg URL]

Figures (the last stdout line is one JSON object; progress goes to stderr):
  append_*        µs per transaction of one event written through `audit.record()` + commit (as a request writes
                  it), on SQLite (WAL, synchronous=NORMAL as bench_pages runs it) and PostgreSQL; against, in the
                  same run and interleaved transaction by transaction: the same row inserted and committed without
                  the chain (plain: no lock, no head read, no hash) and audit off (record() a no-op, so the
                  transaction commits nothing, as a read-only page does with audit off). p50, wall and CPU time
  append15_*      the same per transaction of 15 events (a page that lists 15 people): the audit overhead a page
                  with many subjects pays, against one plain executemany insert of the same rows
  page1_*         append_* with every variant's transaction starting with one SELECT (the page's own read), so
                  connection checkout, ping and BEGIN are paid by audit off as well, as on a real page
  *_async_*       PostgreSQL: the chained transaction again with AUDIT_READ_COMMIT = "async" (a transaction that
                  wrote nothing but events of reads does not wait for the WAL flush), in the same rotation; the
                  other variants run with "sync"
  verify_*        `verify_chain` over N generated events (1,000,000; --quick 60,000) with a signed checkpoint every
                  1,000 events and a sink file: one process and the default worker processes; SQLite file and PG
  concurrent_*    events/s when 4 processes append at once on PostgreSQL (one event per transaction with
                  AUDIT_READ_COMMIT sync and async, and 5 per transaction, sync), each process with its own app, like
                  gunicorn workers; baseline in the same run: the same 4 processes inserting and committing plain
                  rows (no chain, no lock, synchronous commit) into a twin table with the same columns, indexes
                  and constraints, the I/O ceiling. The phases alternate in 4 rounds (a quarter of the events each)

PostgreSQL: --pg URL, else TEST_DATABASE_URL, else postgresql+psycopg://postgres@127.0.0.1:5432/postgres; a
temporary database is created for the run and dropped afterwards. Without a reachable server the PG figures
are null. Goals (issue 5): verify 1,000,000 events in < 5 s; >= 1,000 events/s from 4 processes on PostgreSQL.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import config as config_module  # noqa: E402
from caseapp.security import audit_chain  # noqa: E402
from caseapp.security.audit_chain import GENESIS, Checkpoint, FileSink, Head  # noqa: E402
from caseapp.security.keys import ensure_key_files  # noqa: E402

PAGE_EVENTS = 15  # events one page writes at most (the start page: one "list" event per person shown)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------- set-up


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """As bench/bench_pages.py runs the app on SQLite: WAL with synchronous=NORMAL (no fsync per commit)."""
    import sqlite3

    if isinstance(dbapi_conn, sqlite3.Connection):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()


def make_bench_app(db_url: str, key_dir: str, **extra):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from caseapp import create_app

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)

    class Cfg(config_module.TestingConfig):
        SQLALCHEMY_DATABASE_URI = db_url
        KEY_DIR = key_dir
        AUDIT_SINK = "none"
        AUDIT_CHECKPOINT_EVERY = 1000
        AUDIT_CHECKPOINT_MINUTES = None

    for key, value in extra.items():
        setattr(Cfg, key, value)
    return create_app(Cfg)


def pg_base_url(arg: str | None) -> str | None:
    url = arg or os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    try:
        engine = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT",
                               connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return url
    except Exception as exc:  # noqa: BLE001
        say(f"PostgreSQL not reachable ({exc.__class__.__name__}); PG figures skipped")
        return None


class TempPgDatabase:
    def __init__(self, base: str) -> None:
        self.base = make_url(base)
        self.name = f"bench_audit_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(self.base.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def __enter__(self) -> str:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.base.set(database=self.name).render_as_string(hide_password=False)

    def __exit__(self, *exc) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def create_schema(app) -> None:
    from caseapp.extensions import db

    with app.app_context():
        db.create_all()
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")


# ------------------------------------------------------------------------------------------- append


def bench_append(app, n: int, rounds: int, per_txn: int = 1, with_async: bool = False,
                 read_first: bool = False) -> dict:
    """µs per transaction of `per_txn` events: record() x per_txn + commit (chained) against a plain insert (one
    executemany) + commit of the same rows. per_txn 1 is one request's read of a case; 15 is the start page,
    which writes one "list" event per person shown. The variants alternate transaction by transaction, so all see
    the same load on a shared machine; p50 of wall time and of this process's CPU time per transaction.
    with_async adds the chained transaction with AUDIT_READ_COMMIT = "async" (the others run with "sync").
    read_first starts every variant's transaction with one SELECT, as a page does before it records its read: the
    connection checkout, its ping and BEGIN are then the page's, not the audit log's."""
    from types import SimpleNamespace

    from caseapp.extensions import db
    from caseapp.security import audit
    from caseapp.security.audit import AuditEvent

    actor_id, unit_id = uuid.uuid4(), uuid.uuid4()
    actor = SimpleNamespace(id=actor_id, unit_id=unit_id, role="handlaggare")

    table = AuditEvent.__table__
    chained, plain, off, chained_cpu, plain_cpu, off_cpu = [], [], [], [], [], []
    relaxed, relaxed_cpu = [], []
    page_read = text("SELECT count(*) FROM audit_checkpoints")  # read_first: the page's own reads, in every variant
    app.config["AUDIT_READ_COMMIT"] = "sync"
    clock, cpu = time.perf_counter, time.process_time
    record = audit.record

    def recorded_transaction(walls: list, cpus: list) -> None:
        """One page-like transaction: (the page's read,) per_txn events through record(), commit; timed."""
        start, start_cpu = clock(), cpu()
        if read_first:
            db.session.execute(page_read)
        for _ in range(per_txn):
            audit.record("view", actor=actor, object_type="case", object_id=uuid.uuid4(),
                         subject_person_id=uuid.uuid4())
        db.session.commit()
        walls.append(clock() - start)
        cpus.append(cpu() - start_cpu)

    with app.app_context():
        seq = 10**12  # plain rows get seqs far above the chain's (unique column)
        for _ in range(rounds):
            for _ in range(n):
                # audit off: the page's transaction writes nothing, so its commit is empty
                audit.record = lambda *a, **k: None
                recorded_transaction(off, off_cpu)
                audit.record = record
                recorded_transaction(chained, chained_cpu)
                if with_async:  # AUDIT_READ_COMMIT = "async": the same transaction, its commit not waiting
                    app.config["AUDIT_READ_COMMIT"] = "async"
                    recorded_transaction(relaxed, relaxed_cpu)
                    app.config["AUDIT_READ_COMMIT"] = "sync"
                start, start_cpu = clock(), cpu()
                if read_first:
                    db.session.execute(page_read)
                rows = []
                for _ in range(per_txn):
                    seq += 1
                    rows.append({
                        "occurred_at": audit.utcnow(), "actor_user_id": actor_id, "actor_unit_id": unit_id,
                        "actor_role": "handlaggare", "action": "view", "outcome": "ok", "object_type": "case",
                        "object_id": str(uuid.uuid4()), "subject_person_id": uuid.uuid4(), "seq": seq,
                        "prev_hash": GENESIS, "hash": GENESIS})
                db.session.execute(table.insert(), rows)
                db.session.commit()
                plain.append(clock() - start)
                plain_cpu.append(cpu() - start_cpu)
                # out of the chain again (the plain rows would otherwise become its head): not timed
                db.session.execute(table.delete().where(table.c.seq >= 10**12))
                db.session.commit()
        db.session.execute(table.delete())
        db.session.execute(text("DELETE FROM audit_checkpoints"))
        db.session.commit()

    def p50(values):
        return statistics.median(values) * 1e6

    c, p, o = p50(chained), p50(plain), p50(off)
    cc, pc, oc = p50(chained_cpu), p50(plain_cpu), p50(off_cpu)
    out = {"chained_us": round(c, 1), "plain_us": round(p, 1), "off_us": round(o, 1),
           "overhead_us": round(c - p, 1), "vs_off_us": round(c - o, 1),
           "chained_cpu_us": round(cc, 1), "plain_cpu_us": round(pc, 1), "off_cpu_us": round(oc, 1),
           "overhead_cpu_us": round(cc - pc, 1), "vs_off_cpu_us": round(cc - oc, 1)}
    if with_async:
        a, ac = p50(relaxed), p50(relaxed_cpu)
        out.update({"async_us": round(a, 1), "async_vs_off_us": round(a - o, 1), "async_cpu_us": round(ac, 1),
                    "async_vs_off_cpu_us": round(ac - oc, 1)})
    return out


# ------------------------------------------------------------------------------------------- verify


def generate_events(n: int, key: Ed25519PrivateKey, sink_path: Path):
    """Rows of a valid chain (as column tuples), plus checkpoints every 1,000 events (also written to the sink)."""
    rng = random.Random(5)
    users = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(300)]
    units = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(8)]
    people = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(5000)]
    actions = ["view", "view", "view", "list", "search", "update", "create", "login", "denied"]
    base = datetime(2026, 1, 1)
    prev, rows, checkpoints = GENESIS, [], []
    sha256 = hashlib.sha256
    for i in range(n):
        seq = i + 1
        user = users[i % 300]
        subject = people[(i * 7) % 5000] if i % 3 else None
        occurred = base + timedelta(microseconds=i * 997_331)
        texts = ["handlaggare", actions[i % 9], "ok", "case", f"{i:08x}-case", f"{i:032x}", "10.1.2.3",
                 None if i % 5 else '{"reason":"x"}']
        encoded = audit_chain.encode_event(seq, audit_chain.micros(occurred), user.bytes, units[i % 8].bytes,
                                           subject.bytes if subject else None, texts, prev)
        digest = sha256(encoded).digest()
        rows.append((i + 1, occurred, user, units[i % 8], *texts[:1], *texts[1:], subject, seq, prev, digest))
        prev = digest
        if seq % 1000 == 0:
            checkpoints.append(Checkpoint.sign(key, Head(i + 1, seq, digest), base + timedelta(days=1)))
    checkpoints = [Checkpoint(c.created_at, c.event_id, c.event_count, c.head_hash, c.key_id, c.signature, k + 1)
                   for k, c in enumerate(checkpoints)]
    FileSink(sink_path).append(checkpoints)
    return rows, checkpoints


_ROW_COLUMNS = ("id, occurred_at, actor_user_id, actor_unit_id, actor_role, action, outcome, object_type, "
                "object_id, request_id, ip, details, subject_person_id, seq, prev_hash, hash")
_CP_COLUMNS = "id, created_at, event_id, event_count, head_hash, key_id, signature"


def load_sqlite(path: str, rows, checkpoints) -> None:
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.executemany(
        f"INSERT INTO audit_events ({_ROW_COLUMNS}) VALUES ({', '.join('?' * 16)})",
        ((r[0], r[1].isoformat(" ", "microseconds"), r[2].hex, r[3].hex, *r[4:12],
          r[12].hex if r[12] else None, *r[13:]) for r in rows))
    con.executemany(f"INSERT INTO audit_checkpoints ({_CP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ((c.id, c.created_at.isoformat(" ", "microseconds"), c.event_id, c.event_count, c.head_hash,
                      c.key_id, c.signature) for c in checkpoints))
    con.commit()
    con.close()


def load_pg(url: str, rows, checkpoints) -> None:
    import psycopg

    with psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)) as con:
        with con.cursor() as cur:
            with cur.copy(f"COPY audit_events ({_ROW_COLUMNS}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
            with cur.copy(f"COPY audit_checkpoints ({_CP_COLUMNS}) FROM STDIN") as copy:
                for c in checkpoints:
                    copy.write_row((c.id, c.created_at, c.event_id, c.event_count, c.head_hash, c.key_id,
                                    c.signature))
        con.commit()


def time_verify(url: str, public, sink: Path, workers: int) -> float:
    audit_chain.PARALLEL_MIN_EVENTS = 0  # measure the worker processes even on the --quick counts
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            result = audit_chain.verify_chain(conn, public, sink, workers=workers)
    finally:
        engine.dispose()
    assert result.ok, [p.describe() for p in result.problems]
    return round(result.seconds, 2)


def verify_floor(url: str, rows) -> dict:
    """The floor of verification in the same run, one process: fetching the verifier's rows with the same raw
    cursor and batches and doing nothing with them, and a plain SHA-256 chain in Python over the events' canonical
    encodings, precomputed (the issue's "about 0.4 s" for 1,000,000)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            dialect = conn.dialect.name
            if dialect == "sqlite":
                raw.text_factory = bytes
            start = time.perf_counter()
            fetched = sum(len(b) for b in audit_chain._batches(raw, dialect, None, None, 10_000))
            fetch_s = time.perf_counter() - start
            conn.rollback()
    finally:
        engine.dispose()
    encodings = [audit_chain.encode_event(r[13], audit_chain.micros(r[1]), r[2].bytes, r[3].bytes,
                                          r[12].bytes if r[12] else None, r[4:12], r[14]) for r in rows]
    start = time.perf_counter()
    sha256, prev = hashlib.sha256, GENESIS
    for enc in encodings:
        prev = sha256(enc + prev).digest()
    hash_s = time.perf_counter() - start
    assert fetched == len(rows)
    return {"fetch_s": round(fetch_s, 2), "sha256_chain_s": round(hash_s, 2)}


# ------------------------------------------------------------------------------------------ concurrent


CONCURRENT_ROUNDS = 4  # the phases alternate round by round, so load drifts on the shared machine hit them alike


def _append_worker(db_url: str, key_dir: str, n: int, phases: tuple[tuple[int, str], ...], barrier,
                   results) -> None:
    from sqlalchemy import MetaData

    from caseapp.extensions import db
    from caseapp.security import audit

    app = make_bench_app(db_url, key_dir)
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        from caseapp.security.audit import AuditEvent

        # the baseline's twin of audit_events: same columns, indexes and constraints (CREATE TABLE ... LIKE ...
        # INCLUDING ALL), so its rows cost the same I/O without entering the chain, and it can run between phases
        plain_table = AuditEvent.__table__.to_metadata(MetaData(), name="audit_events_plain")
        per_round = n // CONCURRENT_ROUNDS
        base = (os.getpid() % 100_000 + 1) * 10**9
        for rnd in range(CONCURRENT_ROUNDS):
            for phase, (per_txn, mode) in enumerate(phases):
                app.config["AUDIT_READ_COMMIT"] = mode
                barrier.wait(timeout=120)
                start = time.perf_counter()
                if per_txn == 0:  # baseline: the same rows, plain insert + commit, no chain, no lock: the I/O ceiling
                    for i in range(per_round):
                        base += 1
                        db.session.execute(plain_table.insert(), {
                            "occurred_at": audit.utcnow(), "action": "view", "outcome": "ok", "object_type": "case",
                            "object_id": f"{os.getpid()}-{rnd}-{phase}-{i}", "seq": base, "prev_hash": GENESIS,
                            "hash": GENESIS})
                        db.session.commit()
                    results.put((phase, time.perf_counter() - start))
                    continue
                for i in range(per_round):
                    audit.record("view", actor=None, object_type="case", object_id=f"{os.getpid()}-{rnd}-{phase}-{i}")
                    if (i + 1) % per_txn == 0:
                        db.session.commit()
                db.session.commit()
                results.put((phase, time.perf_counter() - start))


def bench_concurrent(db_url: str, key_dir: str, processes: int, n: int,
                     phases: tuple[tuple[int, str], ...]) -> list[int]:
    """Events/s of `processes` processes appending at once, one figure per phase ((events per transaction,
    AUDIT_READ_COMMIT); 0 events per transaction is the plain baseline, into a twin table). The processes start
    once (spawn + app start-up is slow) and run CONCURRENT_ROUNDS rounds of all phases, n / rounds events each per
    process and phase; a phase's figure is its events over the sum of its rounds' times (slowest process)."""
    from caseapp.security.keys import FileKeyProvider

    engine = create_engine(db_url)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE audit_events_plain (LIKE audit_events INCLUDING ALL)"))
        conn.commit()
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_append_worker, args=(db_url, key_dir, n, phases, barrier, results))
             for _ in range(processes)]
    for p in procs:
        p.start()
    # results arrive round by round: the slowest process of each (round, phase), summed over the rounds
    slowest: dict[tuple[int, int], float] = {}
    seen = [0] * len(phases)
    for _ in range(processes * len(phases) * CONCURRENT_ROUNDS):
        phase, seconds = results.get(timeout=600)
        rnd = seen[phase] // processes
        seen[phase] += 1
        slowest[rnd, phase] = max(slowest.get((rnd, phase), 0.0), seconds)
    for p in procs:
        p.join()
    totals = [sum(slowest[rnd, phase] for rnd in range(CONCURRENT_ROUNDS)) for phase in range(len(phases))]
    public = FileKeyProvider(key_dir, strict_permissions=False).audit_public_key()
    per_round = n // CONCURRENT_ROUNDS
    with engine.connect() as conn:
        result = audit_chain.verify_chain(conn, public, workers=1)
        chained_phases = len([p for p, _mode in phases if p])
        expected = processes * per_round * CONCURRENT_ROUNDS * chained_phases
        assert result.ok and result.events == expected, (result.events, expected, result.problems[:3])
        assert conn.execute(text("SELECT count(*) FROM audit_events_plain")).scalar() == \
            processes * per_round * CONCURRENT_ROUNDS * (len(phases) - chained_phases)
        conn.execute(text("DROP TABLE audit_events_plain"))
        conn.execute(text("DELETE FROM audit_events"))
        conn.execute(text("DELETE FROM audit_checkpoints"))
        conn.commit()
    engine.dispose()
    return [round(processes * per_round * CONCURRENT_ROUNDS / seconds) for seconds in totals]


# ------------------------------------------------------------------------------------------------ main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts (finishes within 30 s)")
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (a temporary database is created there)")
    parser.add_argument("--no-verify", action="store_true", help="appends only (skip the verification figures)")
    args = parser.parse_args()
    quick = args.quick
    n_verify = 60_000 if quick else 1_000_000
    n_verify_pg = 30_000 if quick else 1_000_000
    append_n, append_rounds = (100, 3) if quick else (500, 5)
    conc_n = 150 if quick else 2000
    out: dict = {"bench": "audit_chain", "quick": quick, "verify_events": n_verify,
                 "cpus": os.cpu_count(), "python": platform.python_version()}

    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    key_dir = str(tmp / "keys")
    ensure_key_files(key_dir)
    sign_key = Ed25519PrivateKey.generate()
    public = sign_key.public_key()

    # --- SQLite (WAL)
    sqlite_url = f"sqlite:///{tmp / 'append.db'}"
    app = make_bench_app(sqlite_url, key_dir)
    create_schema(app)
    say("append, SQLite (WAL) ...")
    figures = bench_append(app, append_n, append_rounds)
    out.update({f"append_sqlite_{k}": v for k, v in figures.items()})
    say(f"  {figures}")
    figures = bench_append(app, append_n // 2, append_rounds, per_txn=PAGE_EVENTS)
    out.update({f"append15_sqlite_{k}": v for k, v in figures.items()})
    say(f"  {PAGE_EVENTS} events per transaction: {figures}")
    figures = bench_append(app, append_n, append_rounds, read_first=True)
    out.update({f"page1_sqlite_{k}": v for k, v in figures.items()})
    say(f"  after a read (a page): {figures}")

    rows = checkpoints = sink = None
    if not args.no_verify:
        say(f"generating {n_verify:,} chained events ...")
        started = time.perf_counter()
        sink = tmp / "sink.jsonl"
        rows, checkpoints = generate_events(n_verify, sign_key, sink)
        verify_db = tmp / "verify.db"
        create_schema(make_bench_app(f"sqlite:///{verify_db}", key_dir))
        load_sqlite(str(verify_db), rows, checkpoints)
        say(f"  generated and loaded in {time.perf_counter() - started:.1f} s")
        one = time_verify(f"sqlite:///{verify_db}", public, sink, workers=1)
        many = time_verify(f"sqlite:///{verify_db}", public, sink, workers=min(os.cpu_count() or 1, 8))
        floor = verify_floor(f"sqlite:///{verify_db}", rows)
        out.update({"verify_sqlite_floor_fetch_s": floor["fetch_s"], "verify_floor_sha256_chain_s": floor["sha256_chain_s"]})
        say(f"  floor: fetching the rows {floor['fetch_s']} s, a plain SHA-256 chain over them {floor['sha256_chain_s']} s")
        out.update({"verify_sqlite_1proc_s": one, "verify_sqlite_s": many,
                    "verify_sqlite_per_1m_s": round(min(one, many) * 1_000_000 / n_verify, 2)})
        say(f"verify SQLite {n_verify:,}: {one} s in 1 process, {many} s with {min(os.cpu_count() or 1, 8)} processes")

    # --- PostgreSQL
    base = pg_base_url(args.pg)
    for name in ("append_pg_chained_us", "append_pg_plain_us", "append_pg_overhead_us", "append_pg_vs_off_us",
                 "append15_pg_chained_us", "append15_pg_plain_us", "append15_pg_overhead_us", "append15_pg_vs_off_us",
                 "verify_pg_s",
                 "verify_pg_1proc_s", "concurrent_pg_events_per_s", "concurrent_pg_5_per_txn_events_per_s",
                 "concurrent_pg_plain_rows_per_s", "verify_pg_floor_fetch_s", "concurrent_pg_async_events_per_s"):
        out[name] = None
    if base:
        with TempPgDatabase(base) as pg_url:
            pg_app = make_bench_app(pg_url, key_dir)
            create_schema(pg_app)
            say("append, PostgreSQL ...")
            figures = bench_append(pg_app, append_n, append_rounds, with_async=True)
            out.update({f"append_pg_{k}": v for k, v in figures.items()})
            say(f"  {figures}")
            figures = bench_append(pg_app, append_n // 2, append_rounds, per_txn=PAGE_EVENTS, with_async=True)
            out.update({f"append15_pg_{k}": v for k, v in figures.items()})
            say(f"  {PAGE_EVENTS} events per transaction: {figures}")
            figures = bench_append(pg_app, append_n, append_rounds, with_async=True, read_first=True)
            out.update({f"page1_pg_{k}": v for k, v in figures.items()})
            say(f"  after a read (a page): {figures}")
            from caseapp.extensions import db

            with pg_app.app_context():
                db.engine.dispose()
            say(f"4 processes x {conc_n} events, PostgreSQL ...")
            (out["concurrent_pg_events_per_s"], out["concurrent_pg_async_events_per_s"],
             out["concurrent_pg_5_per_txn_events_per_s"], out["concurrent_pg_plain_rows_per_s"]) = bench_concurrent(
                pg_url, key_dir, 4, conc_n, ((1, "sync"), (1, "async"), (5, "sync"), (0, "sync")))
            say(f"  {out['concurrent_pg_events_per_s']} events/s (1 per transaction, synchronous commit), "
                f"{out['concurrent_pg_async_events_per_s']} events/s (1 per transaction, AUDIT_READ_COMMIT=async), "
                f"{out['concurrent_pg_5_per_txn_events_per_s']} events/s (5 per transaction); baseline "
                f"{out['concurrent_pg_plain_rows_per_s']} plain rows/s (insert + commit, no chain)")
            if args.no_verify:
                shutil.rmtree(tmp, ignore_errors=True)
                print(json.dumps(out))
                return
            pg_sink = sink
            if n_verify_pg != n_verify:
                pg_sink = tmp / "sink-pg.jsonl"
                rows, checkpoints = generate_events(n_verify_pg, sign_key, pg_sink)
            say(f"loading {n_verify_pg:,} events into PostgreSQL ...")
            load_pg(pg_url, rows, checkpoints)
            out["verify_pg_events"] = n_verify_pg
            out["verify_pg_1proc_s"] = time_verify(pg_url, public, pg_sink, workers=1)
            out["verify_pg_s"] = time_verify(pg_url, public, pg_sink, workers=min(os.cpu_count() or 1, 8))
            out["verify_pg_floor_fetch_s"] = verify_floor(pg_url, rows)["fetch_s"]
            say(f"verify PostgreSQL {n_verify_pg:,}: {out['verify_pg_1proc_s']} s in 1 process, "
                f"{out['verify_pg_s']} s with workers")
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
