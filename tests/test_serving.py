"""caseapp.serving.prepare_worker, as wsgi.py calls it: the start-up objects frozen out of the collector and the
young generation's threshold raised (run in a fresh interpreter: freezing this one would change the test run)."""

from __future__ import annotations

import json
import subprocess
import sys

from caseapp.serving import GC_YOUNG_THRESHOLD

PROBE = """
import gc, json
before = gc.get_threshold()
import caseapp  # (its modules and their objects: what a server process has built before it serves)
from caseapp.serving import prepare_worker
prepare_worker()
frozen = gc.get_freeze_count()
garbage = [[] for _ in range(500)]  # young objects that stay alive: counted towards the threshold
for item in garbage:
    item.append(item)  # (each a cycle)
print(json.dumps({"before": before, "after": gc.get_threshold(), "frozen": frozen, "young": gc.get_count()[0]}))
"""


def test_prepare_worker_freezes_the_start_up_objects_and_raises_the_young_threshold(tmp_path):
    env = {"CASEAPP_INSTANCE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True, env=env,
                         timeout=120).stdout
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["after"] == [GC_YOUNG_THRESHOLD, seen["before"][1], seen["before"][2]]
    assert seen["before"][0] < GC_YOUNG_THRESHOLD
    assert seen["frozen"] > 10_000  # the modules' objects
    assert seen["young"] >= 500  # no collection yet at 500 live young objects (the default of 700 is close)
