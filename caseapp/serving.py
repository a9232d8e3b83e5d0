"""Set-up of a server process (wsgi.py), shared with the page benchmark so that it measures what is deployed."""

from __future__ import annotations

import gc

# Container objects allocated (net of those freed) before a young-generation collection; CPython's default is 700.
# A page's objects are freed by reference counting when it is sent, but while it is built more than 700 are alive
# at once: the case page set off 0.9 collections per request, each scanning what the page holds, and every tenth a
# middle-generation one (0.09 ms per request in all, measured with gc.callbacks over 1,000 case pages). With
# 10,000 a collection comes every few hundred requests (3 in 1,000 case pages, 0.006 ms per request), at most
# 10,000 objects (a couple of MB) wait for it, and the one that comes takes ~2.5 ms.
GC_YOUNG_THRESHOLD = 10_000


def prepare_worker() -> None:
    """Call once per server process after the app is built (before gunicorn forks, with --preload).

    Everything that exists by then (the app, its routes, compiled templates, SQLAlchemy's mappers and statement
    caches, the translation catalogs: about 150,000 objects) lives as long as the process. `gc.freeze()` moves it
    out of the cyclic garbage collector's generations, so that a full collection scans only what requests
    allocate: measured on the case page, full collections went from about 130 ms every ~100 requests to under
    10 ms (bench/bench_pages.py). Reference counting still frees everything as before; frozen objects are only
    no longer scanned for cycles. After a fork the pages of frozen objects are also not touched by the collector,
    so they stay shared between workers.

    The young generation is collected after GC_YOUNG_THRESHOLD net allocations instead of 700 (see there).
    """
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
