"""WAL checkpoints of the app's SQLite database off the request path.

SQLite's automatic checkpoint runs inside the COMMIT that pushes the write-ahead log past 1,000 pages: that one
request copies the log into the database file and waits for two fsyncs. On the page benchmark's data set this
made the commit of every ~20th start page take 15-20 ms instead of 0.4 ms (bench/bench_pages.py; the 95th
percentile of the start page went from 21 to 37 ms with the audit log on). SQLite's documentation suggests
the remedy used here: a thread of each server process runs `PRAGMA wal_checkpoint(PASSIVE)` on its own
connection shortly after commits (it waits for no reader or writer and takes no lock a request needs; the
sqlite3 module releases the GIL while it runs), and the request connections' automatic checkpoint is moved
to 10,000 pages as a safety net (if the thread is ever behind or gone, the log still cannot grow past ~40 MB).

The thread starts at the first commit in a process (so a forked server worker starts its own) and ends after
a minute without commits. Durability is unchanged: synchronous=NORMAL in WAL mode never fsyncs at commit; the
checkpoint's fsyncs only happen elsewhere.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

#: Pages after which a request connection checkpoints by itself (the safety net; SQLite's default is 1,000).
SAFETY_AUTOCHECKPOINT_PAGES = 10_000
#: How long the thread waits after a commit before checkpointing (commits that follow share the checkpoint).
DELAY_SECONDS = 0.25
#: The thread ends after this long without a commit (restarted by the next commit).
IDLE_SECONDS = 60.0


class WalCheckpointer:
    """One per SQLite database file and process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._dirty = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self.checkpoints = 0  # how many checkpoints the thread has run (tests, diagnostics)

    def committed(self) -> None:
        """Called at every commit on the database (a cheap flag; the thread does the work)."""
        thread = self._thread
        if thread is None or self._pid != os.getpid() or not thread.is_alive():
            self._start()
        else:
            self._dirty.set()

    def _start(self) -> None:
        if self._pid != os.getpid():  # a forked child: nothing of the parent's thread, lock or event is used
            self._lock = threading.Lock()
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._pid == os.getpid():
                self._dirty.set()
                return
            self._pid = os.getpid()
            self._dirty = threading.Event()
            self._dirty.set()
            self._thread = threading.Thread(target=self._run, args=(self._dirty,), name="sqlite-wal-checkpoint",
                                            daemon=True)
            self._thread.start()

    def _run(self, dirty: threading.Event) -> None:
        conn = None
        try:
            conn = sqlite3.connect(self.path, timeout=5, isolation_level=None, check_same_thread=False)
            while dirty.wait(IDLE_SECONDS):
                if self._pid != os.getpid():
                    return
                time.sleep(DELAY_SECONDS)
                dirty.clear()
                if self.checkpoint(conn):
                    dirty.set()  # another connection was checkpointing: try again after the delay
        except Exception:  # the safety net (SAFETY_AUTOCHECKPOINT_PAGES) keeps the log bounded
            log.exception("the WAL checkpoint thread of %s stopped", self.path)
        finally:
            if conn is not None:
                conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> bool:
        """One passive checkpoint; True if it could not run (another connection held the checkpoint lock)."""
        busy, _frames, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        return bool(busy)


def database_path(engine: Engine) -> str | None:
    """The file of a file-based SQLite engine; None for PostgreSQL and in-memory SQLite."""
    if engine.dialect.name != "sqlite":
        return None
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:") or engine.url.query.get("mode") == "memory":
        return None
    return os.path.abspath(path)


def install(engine: Engine) -> WalCheckpointer | None:
    """Move `engine`'s checkpoints to a background thread (file-based SQLite only); idempotent."""
    path = database_path(engine)
    if path is None:
        return None
    existing = engine.__dict__.get("_caseapp_wal_checkpointer")
    if existing is not None:
        return existing
    checkpointer = WalCheckpointer(path)
    engine.__dict__["_caseapp_wal_checkpointer"] = checkpointer

    @event.listens_for(engine, "connect")
    def _safety_net(dbapi_conn, _record) -> None:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA wal_autocheckpoint={SAFETY_AUTOCHECKPOINT_PAGES}")
        finally:
            cursor.close()

    @event.listens_for(engine, "commit")
    def _after(_conn) -> None:
        checkpointer.committed()

    return checkpointer
