"""The cold-start harness's own arithmetic (local/scripts/coldstart.py, `make bench-coldstart`)."""

from __future__ import annotations

import os
import sys
import time

from conftest import ROOT

sys.path.insert(0, str(ROOT / "local" / "scripts"))
from coldstart import cpu_seconds, summary  # noqa: E402


def test_one_sample_is_its_own_median_and_deciles() -> None:
    # `--samples 1` used to end in StatisticsError (no deciles of one value)
    assert summary([12.34]) == {"median": 12.3, "p10": 12.3, "p90": 12.3, "min": 12.3, "max": 12.3}
    many = summary([float(x) for x in range(1, 21)])
    assert (many["median"], many["min"], many["max"]) == (10.5, 1.0, 20.0)
    assert many["p10"] < many["median"] < many["p90"]


def test_cpu_seconds_reads_user_and_system_time_of_a_process() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    spent = cpu_seconds(os.getpid()) - before
    # clock ticks (10 ms) bound the resolution
    assert 0.02 <= spent <= 1.0, spent
