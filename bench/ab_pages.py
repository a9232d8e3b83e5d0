"""A/B of the casework pages between two trees of the app, on a machine whose speed drifts.

    python bench/ab_pages.py --base DIR [--url POSTGRESQL_URL] [--rounds 5] [--requests 300] [--pages start,case]

DIR is a checkout of another commit (for example `git worktree add /tmp/base <commit>`); this tree is "end".
Each round serves every page once from each tree, base then end, each in a fresh process that builds the app
from its own tree (as bench_pages.py does: prepared as a server process, logged in, audit on), makes 50 warm-up
requests and then --requests timed ones, and reports their p50 and p95. The result for a page is the median,
over the rounds, of the end/base ratio of the two p50s taken back to back, with its range: drift between
rounds (seen on this workplace's machines: a page's p50 moving by a third within minutes while the code stood
still) cancels out of each pair, where two bench_pages.py runs minutes apart can differ by more than the change
measured. Both trees read the same data set (bench/gen_dataset.py, found under this tree's bench/out).
The last stdout line is one JSON object.

    python bench/ab_pages.py --base DIR --instructions [--no-audit] [--requests 40] [--pages start,case] [--url ...]

counts instead of timing, where the machine's speed drifts too much for a timed A/B: each side serves the page
under `valgrind --tool=callgrind` twice, with 1 and with 1 + --requests timed requests after the warm-up, and
the difference of the two instruction counts divided by --requests is that tree's instructions per request (the
whole request in this process: Flask, SQLAlchemy, templates, the driver, and SQLite's own work; not the
PostgreSQL server's). With --no-audit the requests write nothing (`bench_pages.audit_off`): with the audit on,
SQLite's WAL checkpoints (every ~1000 log pages: a start page writes ~30 per commit) land in some runs and not in
others, which moved the start page's count by 5 % between runs; without writes, counts repeat within about 1 %.
On SQLite the database's WAL is emptied before each counted run (`checkpoint_sqlite`). A run takes minutes
(valgrind is ~50x).

    python bench/ab_pages.py --base DIR --concurrent [--base-python PY] [--end-python PY] ...

runs the two sides of a round at the same time, each pinned to a core of its own (cores 0 and 1, swapped every
round), so both meet the same state of the machine: on a shared virtual machine whose speed moves between
minutes, a pair taken back to back can differ by more than the change. The requests write nothing (as
--no-audit: two writers of one SQLite file would wait for each other's lock). --base-python and --end-python run
a side under another interpreter (a venv's python with the app's dependencies installed), to compare
interpreter builds with the same tree: `--base . --base-python /tmp/other-venv/bin/python`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
END_ROOT = HERE.parent.parent
PAGES = ("start", "case", "caseload", "search_pnr", "search_name")


def serve(root: Path, page: str, n: int, url: str | None, audit: bool = True, barrier: bool = False) -> dict:
    """In this process: the app of tree `root`, one page, n timed requests after 50 warm-up (audit off: no
    event is written, for instruction counts without the writes' WAL checkpoints). With `barrier`, it says
    "ready" on stdout after the warm-up and waits for a line on stdin before the timed requests."""
    sys.path[:0] = [str(root / "bench"), str(root)]
    import bench_pages as bp  # noqa: PLC0415 - the tree's own copy, imported after sys.path is set
    import gen_dataset  # noqa: PLC0415

    meta = json.loads((gen_dataset.data_dir(END_ROOT / "bench" / "out" / "pages-data", url) / "meta.json").read_text())
    app = bp.make_app(meta["urls"]["enc"], meta["key_dir"])
    who, method, path, data = {
        "start": ("worker", "GET", "/", None),
        "case": ("worker", "GET", f"/arenden/{meta['case_id']}", None),
        "caseload": ("chef", "GET", "/arenden/enhet", None),
        "search_pnr": ("worker", "POST", "/arenden/sok", {"q": meta["search_pnr"]}),
        "search_name": ("worker", "POST", "/arenden/sok", {"q": meta["search_name"]}),
    }[page]
    client = bp.login(app, meta[who])
    bp.prepare_worker()
    if not audit:
        bp.audit_off().__enter__()  # (for the rest of this process)
    for _ in range(50):
        client.request(method, path, data)
    if barrier:
        print("ready", flush=True)
        sys.stdin.readline()
    times = []
    for _ in range(n):
        elapsed, status, _body = client.request(method, path, data)
        assert status == 200, (page, status)
        times.append(elapsed)
    return {"p50_ms": round(bp.pct(times, .5) * 1000, 3), "p95_ms": round(bp.pct(times, .95) * 1000, 3),
            "root": str(root), "python": bp.interpreter()}


def side_command(root: Path, page: str, n: int, url: str | None, python: str, audit: bool = True) -> list[str]:
    return ([python, str(HERE), "--serve", str(root), "--page", page, "--requests", str(n)]
            + (["--url", url] if url else []) + ([] if audit else ["--no-audit"]))


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def run_side(root: Path, page: str, n: int, url: str | None, python: str = sys.executable) -> dict:
    out = subprocess.run(side_command(root, page, n, url, python), check=True, capture_output=True, text=True,
                         cwd=root).stdout
    return last_json(out)


def run_pair(sides: list[tuple[Path, str]], page: str, n: int, url: str | None, swap: bool) -> list[dict]:
    """Both sides' timed requests at once, without writes, side i pinned to core i (or to the other core when
    `swap`). The sides start one after the other and each waits after its warm-up until both are ready: the
    same user logs in on both, and a TOTP code is accepted once (the second login waits for the first)."""
    procs = []
    for core, (root, python) in enumerate(sides):
        proc = subprocess.Popen(side_command(root, page, n, url, python, audit=False) + ["--barrier"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                cwd=root)
        os.sched_setaffinity(proc.pid, {(core + swap) % 2})  # (before its imports: the app takes seconds to build)
        if proc.stdout.readline().strip() != "ready":
            proc.kill()
            raise RuntimeError(f"side {core} did not start: {proc.communicate()[1][-2000:]}")
        procs.append(proc)
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, proc.args, out, err)
        results.append(last_json(out))
    return results


def checkpoint_sqlite(url: str | None) -> None:
    """SQLite: move the WAL into the database file and empty it. Each counted process logs in, which writes; the
    write that finds the WAL past its checkpoint size (10,000 pages) copies the log into the database, tens of
    millions of instructions that would fall into one run of a pair and not the other (seen: the same tree's
    start page counted 18.54 and 20.58 M in two runs). Emptied before every run, the WAL stays far from that."""
    if url is not None:
        return
    import sqlite3  # noqa: PLC0415

    import gen_dataset  # noqa: PLC0415

    meta = json.loads((gen_dataset.data_dir(END_ROOT / "bench" / "out" / "pages-data", None) / "meta.json")
                      .read_text())
    connection = sqlite3.connect(meta["urls"]["enc"].removeprefix("sqlite:///"))
    try:
        busy, _log, _moved = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise RuntimeError("the data set's database is in use: the WAL could not be emptied")
    finally:
        connection.close()


def count_side(root: Path, page: str, n: int, url: str | None, audit: bool = True) -> int:
    """Instructions per request of `page` served from tree `root` (see the docstring: two runs under callgrind,
    each after the WAL is emptied)."""
    def collected(requests: int) -> int:
        checkpoint_sqlite(url)
        cmd = (["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
               + side_command(root, page, requests, url, sys.executable, audit))
        err = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=root).stderr
        return int(re.search(r"Collected : (\d+)", err).group(1))

    return (collected(1 + n) - collected(1)) // n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", type=Path, help="the other tree (a checkout of the commit to compare with)")
    parser.add_argument("--url", default=None, help="PostgreSQL URL of the data set (as for bench_pages.py)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--pages", default="start,case")
    parser.add_argument("--instructions", action="store_true", help="count instructions (callgrind), not time")
    parser.add_argument("--no-audit", action="store_true", help="with --instructions: requests write no event")
    parser.add_argument("--concurrent", action="store_true",
                        help="both sides of a round at once, one core each, without writes")
    parser.add_argument("--base-python", default=sys.executable, help="interpreter of the base side")
    parser.add_argument("--end-python", default=sys.executable, help="interpreter of the end side")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--barrier", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--page", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args.serve.resolve(), args.page, args.requests, args.url, audit=not args.no_audit,
                               barrier=args.barrier)))
        return
    if args.base is None:
        parser.error("--base DIR is required")
    if args.concurrent and (args.instructions or len(os.sched_getaffinity(0)) < 2):
        parser.error("--concurrent times two processes on two cores (not with --instructions)")
    pages = [p for p in args.pages.split(",") if p]
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        parser.error(f"unknown page(s) {unknown}; known: {', '.join(PAGES)}")
    started = time.perf_counter()
    if args.instructions:
        counts = {}
        for page in pages:
            base, end = (count_side(root, page, args.requests, args.url, audit=not args.no_audit)
                         for root in (args.base.resolve(), END_ROOT))
            counts[page] = {"base_instructions": base, "end_instructions": end, "ratio": round(end / base, 4)}
            print(f"{page:12s} instructions per request: base {base / 1e6:.2f} M, end {end / 1e6:.2f} M, "
                  f"end/base {end / base:.3f}", file=sys.stderr)
        print(json.dumps({"bench": "ab_pages", "mode": "instructions", "audit": not args.no_audit,
                          "db": "postgresql" if args.url else "sqlite",
                          "base": str(args.base), "requests": args.requests, "pages": counts,
                          "seconds": round(time.perf_counter() - started, 1)}))
        return
    rounds: dict[str, list[dict]] = {p: [] for p in pages}
    sides = [(args.base.resolve(), args.base_python), (END_ROOT, args.end_python)]
    for number in range(args.rounds):
        for page in pages:
            if args.concurrent:
                base, end = run_pair(sides, page, args.requests, args.url, swap=bool(number % 2))
            else:
                base, end = (run_side(root, page, args.requests, args.url, python) for root, python in sides)
            rounds[page].append({"base": base, "end": end, "ratio": round(end["p50_ms"] / base["p50_ms"], 3)})
    summary = {}
    for page, pairs in rounds.items():
        ratios = [r["ratio"] for r in pairs]
        summary[page] = {
            "ratio_median": round(statistics.median(ratios), 3), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "end_faster_in": sum(r < 1 for r in ratios), "rounds": len(ratios),
            "base_p50_ms": round(statistics.median(r["base"]["p50_ms"] for r in pairs), 3),
            "end_p50_ms": round(statistics.median(r["end"]["p50_ms"] for r in pairs), 3),
            "base_p95_ms": round(statistics.median(r["base"]["p95_ms"] for r in pairs), 3),
            "end_p95_ms": round(statistics.median(r["end"]["p95_ms"] for r in pairs), 3),
        }
        print(f"{page:12s} end/base p50 {summary[page]['ratio_median']:.3f} "
              f"({summary[page]['ratio_min']:.3f}-{summary[page]['ratio_max']:.3f}), end faster in "
              f"{summary[page]['end_faster_in']} of {len(ratios)}", file=sys.stderr)
    print(json.dumps({"bench": "ab_pages", "db": "postgresql" if args.url else "sqlite", "base": str(args.base),
                      "concurrent": args.concurrent, "audit": not args.concurrent,
                      "base_python": args.base_python, "end_python": args.end_python, "requests": args.requests, "pages": summary, "pairs": rounds,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
