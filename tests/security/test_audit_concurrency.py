"""Several OS processes append to the audit chain at once (PostgreSQL): one linear, complete, valid chain.

Each process builds its own app (same database, same key directory) and commits its events one transaction at a
time, like gunicorn workers serving requests. Checkpoints are written concurrently as well (every 500 events).
Run with AUDIT_READ_COMMIT async (the events are reads: commits do not wait for the flush, checkpoint commits do)
and sync.
"""

from __future__ import annotations

import multiprocessing
import os
import time

import pytest
from sqlalchemy import select

from caseapp.security import audit
from caseapp.security.audit import AuditCheckpoint, AuditEvent
from caseapp.security.audit_chain import verify_chain
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(
    not is_postgres(),
    reason="needs PostgreSQL (set TEST_DATABASE_URL=postgresql+psycopg://...; CI does): "
           "concurrent appends from several processes are a PostgreSQL deployment; SQLite is for one process",
)

PROCESSES = 4
EVENTS_PER_PROCESS = 2000
CHECKPOINT_EVERY = 500


def _append_worker(config: dict, n: int, barrier, results) -> None:
    from caseapp.extensions import db
    from tests.conftest import make_app

    app = make_app(config)
    with app.app_context():
        db.session.execute(select(1))  # connect before the start line
        db.session.rollback()
        barrier.wait(timeout=60)
        started = time.perf_counter()
        for i in range(n):
            audit.record("view", actor=None, object_type="case", object_id=f"p{os.getpid()}-{i}")
            db.session.commit()
        results.put((os.getpid(), time.perf_counter() - started))
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("read_commit", ["async", "sync"])
def test_processes_appending_at_once_give_one_valid_chain(app, db, test_config, tmp_path, read_commit):
    sink = tmp_path / "audit-checkpoints.jsonl"
    config = {**test_config, "AUDIT_SINK": "file", "AUDIT_SINK_PATH": str(sink),
              "AUDIT_CHECKPOINT_EVERY": CHECKPOINT_EVERY, "AUDIT_CHECKPOINT_MINUTES": None,
              "AUDIT_READ_COMMIT": read_commit}
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    procs = [ctx.Process(target=_append_worker, args=(config, EVENTS_PER_PROCESS, barrier, results))
             for _ in range(PROCESSES)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    try:
        timings = [results.get(timeout=120) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    assert [proc.exitcode for proc in procs] == [0] * PROCESSES
    total = PROCESSES * EVENTS_PER_PROCESS
    slowest = max(seconds for _, seconds in timings)
    print(f"\n{total} events from {PROCESSES} processes in {slowest:.1f} s: {total / slowest:.0f} events/s "
          f"(wall clock with start-up {time.perf_counter() - started:.1f} s)")

    events = db.session.execute(select(AuditEvent.seq, AuditEvent.object_id).order_by(AuditEvent.id)).all()
    assert len(events) == total
    assert [seq for seq, _ in events] == list(range(1, total + 1))  # linear: id order is chain order
    assert len({object_id for _, object_id in events}) == total  # complete: every event of every process
    writers = [object_id.split("-")[0] for _, object_id in events]
    switches = sum(1 for a, b in zip(writers, writers[1:], strict=False) if a != b)
    assert switches > 10 * PROCESSES, "the processes did not actually append at the same time"

    counts = db.session.scalars(select(AuditCheckpoint.event_count).order_by(AuditCheckpoint.id)).all()
    assert counts == list(range(CHECKPOINT_EVERY, total + 1, CHECKPOINT_EVERY))
    public = app.extensions["caseapp.keys"].audit_public_key()
    with db.engine.connect() as conn:
        result = verify_chain(conn, public, sink)
    assert result.ok, [p.describe() for p in result.problems]
    assert result.events == total and result.sink_lines == len(counts)
