"""Benchmark: one str field encrypt+decrypt through `DataKey` versus alternatives.

    python bench/bench_field.py [--quick]

Compares, for the same 60-character text:
  ours     DataKey.encrypt + DataKey.decrypt (what the column type calls: header, bound AAD, UTF-8)
  ours_cold  the same with a different row id every op (nothing is cached per row)
  floor    raw AESGCM encrypt + decrypt with a reused key object, no header or AAD
  fernet   cryptography's Fernet encrypt + decrypt (AES-128-CBC + HMAC, base64, timestamp)
  sautils  sqlalchemy_utils StringEncryptedType(AesGcmEngine) process_bind_param + process_result_value

Cases run interleaved, round by round; each reports its best round in µs per encrypt+decrypt pair. The last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.fernet import Fernet  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from caseapp.security.crypto import DataKey  # noqa: E402

TEXT = "Åsa Lind-Öberg, Rågsvedsvägen 12, 162 55 Vällingby, tel 08-1"
assert len(TEXT) == 60
ROW = uuid.uuid4()


def time_us(fn: Callable[[], object], iterations: int) -> float:
    """Mean µs per call over one run of `iterations` calls (garbage collector paused)."""
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(iterations):
            fn()
        return (time.perf_counter_ns() - start) / iterations / 1000
    finally:
        gc.enable()


def ours_case() -> Callable[[], object]:
    key = DataKey.generate()

    def run() -> object:
        blob = key.encrypt(TEXT, "person", "name", ROW)
        return key.decrypt(blob, "person", "name", ROW)

    assert run() == TEXT
    return run


def ours_cold_case() -> Callable[[], object]:
    """Like `ours` but a different row for every op (shows that nothing depends on repeating a row)."""
    key = DataKey.generate()
    rows = [uuid.uuid4() for _ in range(50_000)]
    it = iter(())

    def run() -> object:
        nonlocal it
        try:
            row = next(it)
        except StopIteration:
            it = iter(rows)
            row = next(it)
        return key.decrypt(key.encrypt(TEXT, "person", "name", row), "person", "name", row)

    assert run() == TEXT
    return run


def floor_case() -> Callable[[], object]:
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    data = TEXT.encode()

    def run() -> object:
        nonce = os.urandom(12)
        return aead.decrypt(nonce, aead.encrypt(nonce, data, None), None)

    assert run() == TEXT.encode()
    return run


def fernet_case() -> Callable[[], object]:
    f = Fernet(Fernet.generate_key())

    def run() -> object:
        return f.decrypt(f.encrypt(TEXT.encode())).decode()

    assert run() == TEXT
    return run


def sautils_case() -> Callable[[], object] | None:
    try:
        import sqlalchemy as sa
        from sqlalchemy_utils import StringEncryptedType
        from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine
    except ImportError:
        return None
    col = StringEncryptedType(sa.Unicode, os.urandom(32).hex(), AesGcmEngine)
    dialect = sa.create_engine("sqlite://").dialect

    def run() -> object:
        return col.process_result_value(col.process_bind_param(TEXT, dialect), dialect)

    assert run() == TEXT
    return run


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer iterations (finishes well within 30 s)")
    args = parser.parse_args()
    iterations, repeats = (5_000, 25) if args.quick else (20_000, 60)

    cases = {
        "ours": ours_case(),
        "ours_cold": ours_cold_case(),
        "floor": floor_case(),
        "fernet": fernet_case(),
        "sautils": sautils_case(),
    }
    runnable = {name: fn for name, fn in cases.items() if fn is not None}
    for fn in runnable.values():  # warm-up
        time_us(fn, 1000)
    # Interleave the cases round by round and keep each one's best run, so background load on the machine
    # hits every case alike instead of whichever happened to run during it.
    best = dict.fromkeys(runnable, float("inf"))
    for _ in range(repeats):
        for name, fn in runnable.items():
            best[name] = min(best[name], time_us(fn, iterations))
    results: dict[str, float | None] = {
        name: round(best[name], 3) if name in best else None for name in cases
    }
    for name, value in results.items():
        shown = "n/a (sqlalchemy-utils not installed)" if value is None else f"{value:8.3f} µs/op"
        print(f"{name:10s} {shown}", file=sys.stderr)

    ours = results["ours"]
    assert ours is not None

    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(a / b, 2)

    out = {
        "bench": "field_encrypt_decrypt",
        "unit": "us_per_op",
        "text_chars": len(TEXT),
        "iterations": iterations,
        "repeats": repeats,
        **{f"{k}_us": v for k, v in results.items()},
        "fernet_over_ours": ratio(results["fernet"], ours),
        "sautils_over_ours": ratio(results["sautils"], ours),
        "ours_over_floor": ratio(ours, results["floor"]),
        "fernet_over_ours_cold": ratio(results["fernet"], results["ours_cold"]),
        "sautils_over_ours_cold": ratio(results["sautils"], results["ours_cold"]),
        "python": platform.python_version(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
