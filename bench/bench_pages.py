"""Benchmark: casework pages, server time through the WSGI app, logged in, with the audit chain on.

    python bench/bench_pages.py [--quick] [--data DIR] [--url POSTGRESQL_URL] [--requests N]

Pages: the worker's start page, a case page with 20 journal entries, the unit manager's caseload page, search by
personnummer and by name (POST /arenden/sok). Each page runs in three variants in the same run:

- full      the app as deployed: encrypted fields, every read and refusal written to the hash-chained audit log;
- no_enc    the same pages on a twin database holding the same rows in plain UTF-8, with the column type switched
            to pass-through (`security.fields._benchmark_passthrough`, a bench-only switch): what encryption costs;
- no_audit  the encrypted database with `audit.record` replaced by a no-op (bench-only): what the audit log costs.

The floor, in the same run: a bare Flask + SQLAlchemy page that reads the same 20 entries out of the journal table
and decrypts them (unwrapping the person's data key), and the same page also committing one hash-chained row.
The floor's requests run in the same rotation as the pages' three variants: --rotation block (the default) gives
each of them --block requests (25) per turn, as a server process serves its one app request after request;
--rotation request alternates them request by request (every request then starts with the CPU caches full of
another app's data, which inflates every figure; kept to compare with earlier runs). Each page is reported as
p50/p95 in ms and as a ratio of its p50 to the p50 of the floor requests made while that page was measured,
and with p95_after_first_ms: the p95 of its requests after the first of each turn (the first follows another
app's turn, with colder caches: with --block 25 it is one request in 25, in the p95 region).
The apps are prepared as wsgi.py prepares a server process (`caseapp.serving.prepare_worker`). The time is taken around the WSGI
call (environ in, body consumed): routing, hooks, session, queries, decryption, templates, audit, commit.

The data set comes from bench/gen_dataset.py (--data DIR, default bench/out/pages-data; generated if missing, which
takes minutes at full size). --quick generates a small set in a temporary directory and runs fewer requests.
The run also quotes `python_calibration_us` before and after the pages: a fixed Jinja render that shows whether
the machine's speed held during the run and matches another run's (see python_calibration_us()); and
`db_roundtrip_us`, the database's SELECT 1 round trip, which can drift while the interpreter's speed holds.
The last stdout line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("CASEAPP_INSTANCE_DIR", tempfile.mkdtemp(prefix="caseapp-bench-"))

import gen_dataset  # noqa: E402
from flask import Flask, render_template_string  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.orm import scoped_session, sessionmaker  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from caseapp.extensions import db  # noqa: E402
from caseapp.security import audit, audit_chain, fields  # noqa: E402
from caseapp.security import auth as authlib  # noqa: E402
from caseapp.security.crypto import DataKey, wrap_aad  # noqa: E402
from caseapp.security.keys import FileKeyProvider  # noqa: E402
from caseapp.serving import prepare_worker  # noqa: E402

GOALS_MS = {"start": 5.0, "case": 5.0, "caseload": 10.0, "search_pnr": 10.0, "search_name": 10.0}


# ------------------------------------------------------------------------------------------------ the app


class Client:
    """Drives the WSGI app directly: builds the environ outside the timed part, keeps the session cookie."""

    def __init__(self, app) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    def _environ(self, method: str, path: str, data: dict | None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        return EnvironBuilder(path=path, method=method, data=data, headers=headers,
                              environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[float, int, bytes]:
        environ = self._environ(method, path, data)
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = headers

        t0 = time.perf_counter()
        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        elapsed = time.perf_counter() - t0
        for name, value in captured["headers"]:
            if name.lower() == "set-cookie":
                cookie = SimpleCookie(value)
                for key, morsel in cookie.items():
                    self.cookies[key] = morsel.value
        return elapsed, captured["status"], body


def login(app, who: dict) -> Client:
    from sqlalchemy import update

    from caseapp.accounts.models import User

    with app.app_context():
        db.session.execute(update(User).where(User.username == who["username"]).values(totp_last_counter=None))
        db.session.commit()
    c = Client(app)
    _t, status, _b = c.request("POST", "/login", {"username": who["username"], "password": who["password"]})
    assert status == 302, f"password step: {status}"
    _t, status, _b = c.request("POST", "/login/kod", {"code": authlib.totp_code(who["totp"], time.time())})
    assert status == 302, f"code step: {status}"
    return c


def make_app(url: str, key_dir: str):
    app = gen_dataset.make_app(url, Path(key_dir))
    with app.app_context():  # a data set generated before a migration added indexes gets them (as `init` would)
        for table in db.metadata.sorted_tables:
            for index in table.indexes:
                index.create(db.engine, checkfirst=True)
        if db.engine.dialect.name == "postgresql":  # and the audit append function (migration 0014)
            with db.engine.begin() as conn:
                conn.exec_driver_sql(audit_chain.PG_APPEND_FUNCTION_SQL)
    return app


@contextlib.contextmanager
def audit_off():
    """Bench only: `audit.record` does nothing (no event, no chain), everything else unchanged."""
    original = audit.record
    audit.record = lambda *a, **k: None
    try:
        yield
    finally:
        audit.record = original


@contextlib.contextmanager
def encryption_off(app):
    """Bench only: the column type stores and reads plain UTF-8 (`fields._benchmark_passthrough`). The app
    context is only needed to switch it on; requests must not run inside it (they would share `g`)."""
    with app.app_context():
        switch = fields._benchmark_passthrough()
        switch.__enter__()
    try:
        yield
    finally:
        switch.__exit__(None, None, None)


# ------------------------------------------------------------------------------------------------ the floor


FLOOR_TEMPLATE = """<!doctype html><html lang="sv"><title>Ärende</title><main><h1>Journal</h1>
{% for t in texts %}<article><p>{{ t }}</p></article>{% endfor %}</main></html>"""


def floor_app(url: str, key_dir: str, case_id: str, person_id: str) -> Flask:
    """A bare Flask + SQLAlchemy page: the same 20 entries, decrypted; optionally one hash-chained row."""
    app = Flask("floor")
    engine = chain_engine = create_engine(url)
    if engine.dialect.name == "sqlite":  # the same connection settings as the app's engine (fair floor)
        from sqlalchemy import event
        from sqlalchemy.engine import make_url

        from caseapp.extensions import _sqlite_pragmas

        event.listen(engine, "connect", _sqlite_pragmas)
        # The floor's chained rows go to a file of their own next to the data set (WAL, the same settings).
        # Written into the app's file by this second connection, each floor commit made SQLite drop the app's
        # page cache (a connection re-reads its pages once another one has written), so the first app request
        # after every floor turn re-read them: about +1 ms on one request in 25 (the p95 region), which the
        # app serving alone never sees (measured 2026-12-03: the first request of a turn 7.8 -> 6.8 ms).
        chain_engine = create_engine(f"sqlite:///{Path(make_url(url).database).with_name('floor_chain.db')}")
        event.listen(chain_engine, "connect", _sqlite_pragmas)
    session = scoped_session(sessionmaker(engine))
    chain_session = scoped_session(sessionmaker(chain_engine))
    provider = FileKeyProvider(key_dir, strict_permissions=False)
    from caseapp.cases.models import JournalEntry
    from caseapp.people.models import PersonKey

    entries = JournalEntry.__table__
    keys = PersonKey.__table__
    cid, pid = uuid.UUID(case_id), uuid.UUID(person_id)
    with chain_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_floor_chain (seq INTEGER PRIMARY KEY, prev BYTEA, "
                          "hash BYTEA, payload TEXT)".replace("BYTEA", "BLOB" if chain_engine.dialect.name == "sqlite"
                                                             else "BYTEA")))
        # (TRUNCATE on PostgreSQL: a DELETE left every earlier run's rows as dead tuples where autovacuum is off,
        # 35,200 dead against 2,200 live on 2026-12-03, under the head read's index scan)
        conn.execute(text("DELETE FROM bench_floor_chain" if chain_engine.dialect.name == "sqlite"
                          else "TRUNCATE bench_floor_chain"))

    def read():
        s = session()
        row = s.execute(select(keys.c.key_id, keys.c.kek_version, keys.c.wrapped).where(keys.c.person_id == pid)).one()
        raw = provider.unwrap_data_key(row.kek_version, row.wrapped, wrap_aad(pid, row.kek_version, row.key_id))
        key = DataKey(row.key_id, raw)
        rows = s.execute(select(entries.c.id, entries.c.text_enc).where(entries.c.case_id == cid)
                         .order_by(entries.c.event_date.desc(), entries.c.written_at.desc()).limit(20)).all()
        texts = [key.decrypt(bytes(r.text_enc), "journal_entries", "text_enc", r.id) for r in rows]
        assert len(texts) == 20
        return s, texts

    @app.get("/floor")
    def floor():
        s, texts = read()
        html = render_template_string(FLOOR_TEMPLATE, texts=texts)
        s.rollback()
        session.remove()
        return html

    @app.get("/floor-audit")
    def floor_audit():
        s, texts = read()
        html = render_template_string(FLOOR_TEMPLATE, texts=texts)
        if chain_engine is not engine:  # SQLite: the read ends, the row goes to the chain's own file
            s.rollback()
            session.remove()
            s = chain_session()
        if engine.dialect.name == "postgresql":
            s.execute(text("LOCK TABLE bench_floor_chain IN EXCLUSIVE MODE"))
        head = s.execute(text("SELECT seq, hash FROM bench_floor_chain ORDER BY seq DESC LIMIT 1")).first()
        seq, prev = (head[0] + 1, bytes(head[1])) if head else (1, b"\0" * 32)
        payload = json.dumps({"action": "view", "object": case_id, "subject": person_id, "at": time.time()})
        digest = hashlib.sha256(prev + payload.encode()).digest()
        s.execute(text("INSERT INTO bench_floor_chain (seq, prev, hash, payload) VALUES (:s, :p, :h, :d)"),
                  {"s": seq, "p": prev, "h": digest, "d": payload})
        s.commit()
        session.remove()
        chain_session.remove()
        return html

    return app


# ------------------------------------------------------------------------------------------------ running


CALIBRATION_TEMPLATE = """{% for e in entries %}<article id="entry-{{ e.id }}"><span>{{ e.date }}</span>
<span class="tag">{{ labels[e.kind] }}</span><div class="prose">{{ e.text }}</div>
<a href="{{ link(e.id) }}">{{ e.kind|upper }}</a></article>{% endfor %}"""


def python_calibration_us(rounds: int = 7, renders: int = 200) -> float:
    """How fast the machine runs the interpreter-bound work that dominates the pages (Jinja with autoescape,
    attribute and dict lookups, calls from templates), in µs per render of 20 items, best of `rounds`. Taken
    before and after the pages: a machine whose speed moves (one was seen to halve and recover within minutes)
    shows it here, and runs compare only where their figures agree."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    template = env.from_string(CALIBRATION_TEMPLATE)
    entries = [{"id": uuid.UUID(int=i), "date": "2026-12-02", "kind": "note" if i % 2 else "call",
                "text": f"Anteckning {i} <om> & med tecken"} for i in range(20)]
    context = {"entries": entries, "labels": {"note": "Anteckning", "call": "Samtal"},
               "link": lambda entry_id: f"/arenden/journal/{entry_id}"}
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(renders):
            template.render(context)
        best = min(best, (time.perf_counter() - t0) / renders)
    return round(best * 1e6, 1)


def db_roundtrip_us(url: str, n: int = 2000) -> float:
    """The database's own speed, beside the interpreter's: the p50 of `n` round trips of SELECT 1 through the
    driver (autocommit, no ORM), in µs. On this workplace's machines PostgreSQL slowed by half within a session
    while python_calibration_us held (2026-12-03), so a run quotes both, before and after its pages."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                cursor.execute("SELECT 1")
                cursor.fetchone()
                times.append(time.perf_counter() - t0)
            cursor.close()
    finally:
        engine.dispose()
    return round(pct(times, .5) * 1e6, 1)


def interpreter() -> dict:
    """Which Python ran: its version, and whether the interpreter runs from a shared libpython (pyenv's default
    build: a shared library without profile-guided optimisation, which served the pages about 10 % slower than
    Debian's statically linked, optimised python3.11 on the same machine; BENCHMARKS.md). Figures from different
    builds are not comparable."""
    import sysconfig  # noqa: PLC0415

    try:
        with open("/proc/self/maps") as maps:
            shared = any("libpython" in line for line in maps)
    except OSError:
        shared = None
    return {"version": sys.version.split()[0], "base_executable": getattr(sys, "_base_executable", sys.executable),
            "libpython_shared": shared, "configure": sysconfig.get_config_var("CONFIG_ARGS") or ""}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def run(meta: dict, n: int, warmup: int, rotation: str = "block", block: int = 25) -> dict:
    urls, key_dir = meta["urls"], meta["key_dir"]
    apps = {"full": make_app(urls["enc"], key_dir), "no_enc": make_app(urls["plain"], key_dir)}
    clients = {}
    for variant, app in apps.items():
        ctx = encryption_off(app) if variant == "no_enc" else contextlib.nullcontext()
        with ctx:
            clients[variant] = {"worker": login(app, meta["worker"]), "chef": login(app, meta["chef"])}
    clients["no_audit"] = clients["full"]
    pages = {
        "start": ("worker", "GET", "/", None),
        "case": ("worker", "GET", f"/arenden/{meta['case_id']}", None),
        "caseload": ("chef", "GET", "/arenden/enhet", None),
        "search_pnr": ("worker", "POST", "/arenden/sok", {"q": meta["search_pnr"]}),
        "search_name": ("worker", "POST", "/arenden/sok", {"q": meta["search_name"]}),
    }
    results: dict[str, dict] = {}
    checks = {"case": b"<article class=\"entry", "search_pnr": b"/arenden/", "search_name": b"/arenden/",
              "caseload": b"table-numbers", "start": b"Mina \xc3\xa4renden"}
    switches = {"full": contextlib.nullcontext, "no_enc": lambda: encryption_off(apps["no_enc"]),
                "no_audit": audit_off}
    floor = floor_app(urls["enc"], key_dir, meta["case_id"], meta["floor_person_id"])
    fc = Client(floor)
    prepare_worker()  # as wsgi.py does once the app is built (caseapp/serving.py)
    floor_paths = {"floor": "/floor", "floor_audit": "/floor-audit"}
    floor_times: dict[str, list[float]] = {name: [] for name in floor_paths}
    page_floor: dict[str, float] = {}

    def floor_once(name):
        elapsed, status, _body = fc.request("GET", floor_paths[name])
        assert status == 200
        return elapsed

    for page, (who, method, path, data) in pages.items():
        times: dict[str, list[float]] = {v: [] for v in switches}
        later: list[float] = []  # the full variant's requests after the first of each turn
        floor_here: list[float] = []

        def once(variant, page=page, who=who, method=method, path=path, data=data):
            with switches[variant]():
                elapsed, status, body = clients[variant][who].request(method, path, data)
            assert status == 200 and checks[page] in body, (page, variant, status, body[:300])
            return elapsed

        # The variants and the floor take turns in the same rotation, so that drift in the machine's load (it is
        # shared) hits the pages, their variants and the floor alike. rotation="block": each takes `block`
        # requests per turn, as a server process serves one app request after request (its CPU caches warm with
        # that app); rotation="request": they alternate request by request (three apps and the floor in turn:
        # every request starts with caches full of another app's data, which no deployed worker sees).
        step = block if rotation == "block" else 1
        done = 0
        while done < warmup + n:
            count = min(step, warmup + n - done)
            for variant in switches:
                for i in range(done, done + count):
                    elapsed = once(variant)
                    if i >= warmup:
                        times[variant].append(elapsed)
                        if variant == "full" and i > done:
                            later.append(elapsed)
            for name in floor_paths:
                for i in range(done, done + count):
                    elapsed = floor_once(name)
                    if i >= warmup:
                        floor_times[name].append(elapsed)
                        if name == "floor":
                            floor_here.append(elapsed)
            done += count
        for variant, values in times.items():
            results[f"{page}.{variant}"] = {"p50_ms": round(pct(values, .5) * 1000, 3),
                                            "p95_ms": round(pct(values, .95) * 1000, 3)}
        page_floor[page] = round(pct(floor_here, .5) * 1000, 3)
        results[f"{page}.full_after_first"] = {"p50_ms": round(pct(later, .5) * 1000, 3),
                                               "p95_ms": round(pct(later, .95) * 1000, 3)}
    for name, values in floor_times.items():
        results[name] = {"p50_ms": round(pct(values, .5) * 1000, 3), "p95_ms": round(pct(values, .95) * 1000, 3)}
    summary = {}
    for page in pages:
        full, no_enc, no_audit = (results[f"{page}.{v}"] for v in ("full", "no_enc", "no_audit"))
        summary[page] = {
            "p50_ms": full["p50_ms"], "p95_ms": full["p95_ms"],
            # against the floor's p50 measured in the same rotation as this page
            "ratio_to_floor": round(full["p50_ms"] / page_floor[page], 2), "floor_p50_ms": page_floor[page],
            "encryption_pct": round((full["p50_ms"] / no_enc["p50_ms"] - 1) * 100, 1),
            "audit_ms": round(full["p50_ms"] - no_audit["p50_ms"], 3),
            "p95_goal_ms": GOALS_MS[page], "p95_goal_met": full["p95_ms"] <= GOALS_MS[page],
            # The first request of each turn follows another app's turn (colder caches); without those:
            "p95_after_first_ms": results[f"{page}.full_after_first"]["p95_ms"],
        }
    return {"variants": results, "pages": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data", type=Path, default=gen_dataset.DEFAULT_OUT)
    parser.add_argument("--url", default=None, help="PostgreSQL URL (uses/creates <db>_enc and <db>_plain)")
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--rotation", choices=("block", "request"), default="block",
                        help="how the variants and the floor take turns (see run()); default block")
    parser.add_argument("--block", type=int, default=25, help="requests per turn with --rotation block")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.quick:
        data = Path(tempfile.mkdtemp(prefix="caseapp-pages-"))
        meta = gen_dataset.generate(data, args.url, 1_000, 1_500, 10_000)
        n, warmup = args.requests or 30, 6
    else:
        data = gen_dataset.data_dir(args.data, args.url)
        meta_path = data / "meta.json"
        if args.regenerate or not meta_path.exists():
            meta = gen_dataset.generate(data, args.url, 100_000, 150_000, 1_000_000)
        else:
            meta = json.loads(meta_path.read_text())
        n, warmup = args.requests or 400, 40
    calibration = python_calibration_us()
    roundtrip = db_roundtrip_us(meta["urls"]["enc"])
    figures = run(meta, n, warmup, args.rotation, args.block)
    out = {
        "bench": "pages", "db": "postgresql" if args.url else "sqlite",
        "dataset": {k: meta[k] for k in ("people", "cases", "entries")}, "requests_per_variant": n,
        "rotation": args.rotation, "block": args.block if args.rotation == "block" else 1,
        **{f"{page}.{k}": v for page, fig in figures["pages"].items() for k, v in fig.items()},
        "floor.p50_ms": figures["variants"]["floor"]["p50_ms"], "floor.p95_ms": figures["variants"]["floor"]["p95_ms"],
        "floor_audit.p50_ms": figures["variants"]["floor_audit"]["p50_ms"],
        "floor_audit.p95_ms": figures["variants"]["floor_audit"]["p95_ms"],
        "python": interpreter(), "python_calibration_us": calibration, "python_calibration_after_us": python_calibration_us(),
        "db_roundtrip_us": roundtrip, "db_roundtrip_after_us": db_roundtrip_us(meta["urls"]["enc"]),
        "variants": figures["variants"], "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
