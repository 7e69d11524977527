"""bench.mjs's sampling, on a stand-in clock: warm-up lasts at least MIN_WARMUP_MS (and --warmup runs); a run
shorter than MIN_SAMPLE_MS is repeated within each timed sample and the sample counts the mean; a slower one is
timed alone. Deterministic: ``performance.now`` is
replaced by a counter that each stand-in inference advances by a fixed amount."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "tfjs_build" / "verify" / "js" / "bench.mjs"

SCRIPT = """
let now = 0;
Object.defineProperty(globalThis, 'performance', { value: { now: () => now }, configurable: true });
const { warmUp, timedRounds } = await import(process.argv[1]);
const out = {};
for (const ms of JSON.parse(process.argv[2])) {
  let calls = 0;
  const once = async () => { calls += 1; now += ms; };
  const loops = await warmUp(once, Number(process.argv[3]));
  const warm = calls;
  const timed = await timedRounds(once, loops, { runs: 4, maxSpread: 1.25, maxRounds: 3 });
  out[ms] = { loops, warm, calls: calls - warm, median: timed.medianMs, rounds: timed.rounds, kept: timed.loops };
}
console.log(JSON.stringify(out));
"""

pytestmark = pytest.mark.node


def _sampled(durations: list[float], warmup: int = 3) -> dict[str, dict[str, float]]:
    done = subprocess.run(["node", "--input-type=module", "-e", SCRIPT, BENCH.as_uri(), json.dumps(durations), str(warmup)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_fast_runs_are_repeated_within_a_sample_and_slow_ones_are_not() -> None:
    figures = _sampled([0.25, 1, 8])
    assert [figures[k]["loops"] for k in ("0.25", "1", "8")] == [100, 25, 4]  # ceil(25 ms / run)
    for key, each in figures.items():
        assert each["warm"] == max(3, math.ceil(2000 / float(key)))  # at least 3 runs and 2 s of warm-up
        assert each["median"] == pytest.approx(float(key))  # per inference, not per sample
        assert each["calls"] == 4 * each["loops"] and each["rounds"] == 1 and each["kept"] == each["loops"]


def test_a_slow_model_still_gets_its_warm_ups() -> None:
    figures = _sampled([400, 900], warmup=3)
    assert (figures["400"]["warm"], figures["400"]["loops"]) == (5, 1)  # 2 s of warm-up: 5 runs of 400 ms
    assert (figures["900"]["warm"], figures["900"]["loops"]) == (3, 1)  # --warmup 3: 2.7 s


def test_without_warm_ups_the_minimum_warm_up_time_still_runs() -> None:
    figures = _sampled([0.5], warmup=0)["0.5"]
    assert figures["warm"] == 4000 and figures["loops"] == 50
