"""Set-up of a server process (wsgi.py), shared with the page benchmark so that it measures what is deployed."""

from __future__ import annotations

import gc


def prepare_worker() -> None:
    """Call once per server process after the app is built (before gunicorn forks, with --preload).

    Everything that exists by then (the app, its routes, compiled templates, SQLAlchemy's mappers and statement
    caches, the translation catalogs: about 150,000 objects) lives as long as the process. `gc.freeze()` moves it
    out of the cyclic garbage collector's generations, so that a full collection scans only what requests
    allocate: measured on the case page, full collections went from about 130 ms every ~100 requests to under
    10 ms (bench/bench_pages.py). Reference counting still frees everything as before; frozen objects are only
    no longer scanned for cycles. After a fork the pages of frozen objects are also not touched by the collector,
    so they stay shared between workers.
    """
    gc.collect()
    gc.freeze()
