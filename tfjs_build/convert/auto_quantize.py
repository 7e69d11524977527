"""``quantize: auto``: per weight, the smallest dtype that keeps the accuracy gate passing.

The search needs no TensorFlow: the converter hands it the float32 weights auto may
choose for and an ``Evaluate`` function (the model's outputs with some weights replaced,
measured against the float model's outputs, computed once), and it returns a dtype per
weight. Runs of the model are the cost, so it spends few:

1. Every weight uint8, on all samples: if the gate passes nothing is smaller; done.
2. Sensitivity, on the first ``RANK_SAMPLES`` samples: each weight alone at uint8 (small
   weights in groups of about ``GROUP_BYTES``: one run per *unit*), as the mean squared
   output difference it causes. Squared differences of independent perturbations add up,
   so they rank and combine better than the gate's maximum. A 16-bit dtype is estimated
   from the uint8 run, scaled by its squared RMS distance from the weight relative to uint8's.
3. Per unit the options float32 / float16 / uint16 / uint8 as (bytes, estimated cost);
   from all-float32 the steps along each unit's lower convex hull, all units' steps sorted
   by bytes saved per cost. Every prefix of that list is a plan, each smaller than the last.
4. Bisection over the prefixes, with runs on every sample: the longest prefix that passes
   the gate (the first probe is the prefix predicted to use up the budget). Then, for up to
   ``REFINE_RUNS`` runs, the step that broke it is dropped (with its unit's later steps) and
   the rest is searched again on top (prefixes 1, 2, 4, ..., then bisection): what one
   misjudged weight blocked is bought back.
5. If every weight at 16 bits would be smaller still, all-float16 and all-uint16 are tried.

Everything is ordered by name and ties break by name, so the same model and samples
give the same choice. The result passed the gate in a real run; the figures in tfjs.lock
are measured again from the written shards.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from tfjs_build.convert.result import AccuracyFigures
from tfjs_build.errors import TfjsBuildError
from tfjs_build.tfjs_format.quantize import dequantize, plan_quantization, quantize_chunks

AUTO = "auto"
FLOAT32 = "float32"
BYTES = {"uint8": 1, "uint16": 2, "float16": 2, FLOAT32: 4}
RANK_SAMPLES = 2
REFINE_RUNS = 10  # runs spent after the first bisection, on steps a misjudged one blocked
SMALL_BYTES = 16 * 1024  # float32 weights below this are ranked in groups, not one by one
GROUP_BYTES = 64 * 1024


@dataclass(frozen=True)
class Measured:
    """One run of the model with replaced weights, against the float model's outputs."""

    figures: AccuracyFigures
    mean_squared: float  # mean over samples and numeric outputs of the mean squared difference


# The model with the given weights replaced, on the first N samples (None: all of them).
Evaluate = Callable[[Mapping[str, np.ndarray], int | None], Measured]


@dataclass(frozen=True)
class AutoChoice:
    """The dtype chosen per weight (float32 = not quantized) and what the search cost."""

    dtypes: dict[str, str]
    runs: int  # model evaluations, each over RANK_SAMPLES or all samples
    figures: AccuracyFigures | None  # of the chosen plan; None when it quantizes nothing


@dataclass(frozen=True)
class _Step:
    """Moving one unit to dtype ``after``: bytes saved, estimated mean squared difference added."""

    unit: int
    after: str
    saved: int
    cost: float


def mean_squared_difference(reference: list[dict[str, np.ndarray]], candidate: list[dict[str, np.ndarray]]) -> float:
    """The mean, over samples and numeric outputs, of mean((candidate - reference)²); inf for NaN."""
    means = []
    for ref_sample, cand_sample in zip(reference, candidate, strict=True):
        for key, ref in ref_sample.items():
            ref = np.asarray(ref)
            if ref.dtype.kind in "biufc" and ref.size:
                diff = np.asarray(cand_sample[key]).astype(np.complex128 if ref.dtype.kind == "c" else np.float64) - ref
                means.append(float(np.mean(np.abs(diff) ** 2)))
    total = float(np.mean(means)) if means else 0.0
    return total if math.isfinite(total) else math.inf


def quantized_values(values: np.ndarray, dtype: str, name: str) -> np.ndarray:
    """The float32 values TF.js decodes after the writer quantizes ``values`` to ``dtype``."""
    flat = values.reshape(-1)
    q = plan_quantization(flat, dtype, name)
    out = np.empty(flat.size, np.float32)
    start = 0
    for chunk in quantize_chunks(flat, q):
        out[start:start + chunk.size] = dequantize(chunk, q)
        start += chunk.size
    return out.reshape(values.shape)


def choose_dtypes(weights: Mapping[str, np.ndarray], evaluate: Evaluate, limit: float) -> AutoChoice:
    """A dtype per weight of ``weights`` (float32 arrays) such that ``max_abs_error <= limit``."""
    search = _Search(weights, evaluate, limit)
    return search.run()


class _Search:
    def __init__(self, weights: Mapping[str, np.ndarray], evaluate: Evaluate, limit: float) -> None:
        self.weights = {name: weights[name] for name in sorted(weights)}
        self.evaluate = evaluate
        self.limit = limit
        self.runs = 0
        self.units = _units(self.weights)
        self.options = [self._options(unit) for unit in self.units]

    def run(self) -> AutoChoice:
        if not self.weights:
            return AutoChoice({}, 0, None)
        cheapest = [min(options, key=lambda dtype: BYTES[dtype]) for options in self.options]
        smallest = self._measure(cheapest, None)
        if smallest.figures.max_abs_error <= self.limit:
            return self._choice(cheapest, smallest.figures)
        # the budget in mean squared difference, if the maximum grows as its square root
        budget = smallest.mean_squared * (self.limit / smallest.figures.max_abs_error) ** 2
        plan, figures = self._refine(self._steps(self._sensitivities()), budget)
        plan, figures = self._fixed_16_bit(plan, figures)
        return self._choice(plan, figures)

    # ---------------------------------------------------------------- measuring

    def _measure(self, plan: list[str], samples: int | None) -> Measured:
        values = {}
        for unit, dtype in zip(self.units, plan, strict=True):
            if dtype != FLOAT32:
                values.update({name: quantized_values(self.weights[name], dtype, name) for name in unit})
        self.runs += 1
        return self.evaluate(values, samples)

    def _passes(self, plan: list[str]) -> AccuracyFigures | None:
        """The plan's figures over every sample when it passes the gate, else None."""
        figures = self._measure(plan, None).figures
        return figures if figures.max_abs_error <= self.limit else None

    def _options(self, unit: tuple[str, ...]) -> dict[str, float]:
        """dtype -> RMS distance of the unit's decoded values from the originals (0 for float32)."""
        options = {FLOAT32: 0.0}
        for dtype in ("float16", "uint16", "uint8"):
            try:
                options[dtype] = _rms([quantized_values(self.weights[n], dtype, n) - self.weights[n] for n in unit])
            except TfjsBuildError:  # NaN/Infinity, or beyond float16's range: that dtype is not an option
                continue
        return options

    def _sensitivities(self) -> list[float]:
        """Mean squared difference caused by each unit alone at uint8 (0 when exact or impossible)."""
        costs = []
        for index, options in enumerate(self.options):
            if options.get("uint8", 0.0) == 0.0:
                costs.append(0.0)
                continue
            plan = [FLOAT32] * len(self.units)
            plan[index] = "uint8"
            costs.append(self._measure(plan, RANK_SAMPLES).mean_squared)
        return costs

    # ---------------------------------------------------------------- planning

    def _steps(self, sensitivities: list[float]) -> list[_Step]:
        """Every unit's steps down its convex hull, most bytes saved per cost first."""
        steps = []
        for index, (options, cost8) in enumerate(zip(self.options, sensitivities, strict=True)):
            size = sum(self.weights[name].size for name in self.units[index])
            noise8 = options.get("uint8", 0.0)
            points = [(BYTES[dtype] * size, _estimate(cost8, noise, noise8), dtype) for dtype, noise in options.items()]
            steps += _hull_steps(index, sorted(points, key=lambda p: (-p[0], p[1])))
        return sorted(steps, key=lambda s: (-_ratio(s.saved, s.cost), self.units[s.unit][0], -s.saved))

    def _plan(self, steps: list[_Step]) -> list[str]:
        plan = [FLOAT32] * len(self.units)
        for step in steps:
            plan[step.unit] = step.after
        return plan

    def _refine(self, steps: list[_Step], budget: float) -> tuple[list[str], AccuracyFigures | None]:
        """Bisect for the longest passing prefix; then, for up to ``REFINE_RUNS`` more runs, drop the
        step that broke it (with its unit's later steps) and look for a passing prefix of the rest."""
        count, figures = self._bisect([], steps, 0, len(steps), budget)  # all steps: the cheapest plan, failed
        taken, last_run = steps[:count], self.runs + REFINE_RUNS
        while count < len(steps) and self.runs < last_run:
            blocker = steps[count]
            steps = [step for step in steps[count + 1:] if step.unit != blocker.unit]
            count, passing = self._gallop(taken, steps, budget)
            taken, figures = taken + steps[:count], passing or figures
        return self._plan(taken), figures

    def _gallop(self, taken: list[_Step], steps: list[_Step], budget: float) -> tuple[int, AccuracyFigures | None]:
        """Prefixes 1, 2, 4, ... until one fails, then bisection: near the budget a failing
        first step costs one run."""
        low, best, probe = 0, None, 1
        while low < len(steps):
            probe = min(probe, len(steps))
            figures = self._passes(self._plan(taken + steps[:probe]))
            if figures is None:
                return self._bisect(taken, steps, low, probe, budget, best)
            low, best, probe = probe, figures, probe * 2
        return low, best

    def _bisect(self, taken: list[_Step], steps: list[_Step], low: int, high: int, budget: float,
                best: AccuracyFigures | None = None) -> tuple[int, AccuracyFigures | None]:
        """The longest prefix of ``steps`` that passes on top of ``taken``, knowing ``low`` passes and
        ``high`` fails; the first probe is the prefix whose estimated cost fills ``budget``."""
        guess = _predicted_prefix(sum(step.cost for step in taken), steps, budget)
        while high - low > 1:
            middle = guess if low < guess < high else (low + high) // 2
            guess = -1
            figures = self._passes(self._plan(taken + steps[:middle]))
            if figures is not None:
                low, best = middle, figures
            else:
                high = middle
        return low, best

    def _fixed_16_bit(self, plan: list[str], figures: AccuracyFigures | None) -> tuple[list[str], AccuracyFigures | None]:
        """All-float16, then all-uint16, when smaller than ``plan`` and passing (rarely needed)."""
        for dtype in ("float16", "uint16"):
            uniform = [dtype if dtype in options else FLOAT32 for options in self.options]
            if self._bytes(uniform) < self._bytes(plan):
                passing = self._passes(uniform)
                if passing is not None:
                    return uniform, passing
        return plan, figures

    def _bytes(self, plan: list[str]) -> int:
        return sum(BYTES[dtype] * sum(self.weights[n].size for n in unit) for unit, dtype in zip(self.units, plan, strict=True))

    def _choice(self, plan: list[str], figures: AccuracyFigures | None) -> AutoChoice:
        dtypes = {name: dtype for unit, dtype in zip(self.units, plan, strict=True) for name in unit}
        return AutoChoice(dtypes, self.runs, figures)


def _units(weights: Mapping[str, np.ndarray]) -> list[tuple[str, ...]]:
    """Weights in name order; a large one is a unit of its own, small neighbours are grouped."""
    units: list[tuple[str, ...]] = []
    group: list[str] = []
    group_bytes = 0
    for name, value in weights.items():
        nbytes = value.size * BYTES[FLOAT32]
        if nbytes >= SMALL_BYTES:
            units.append((name,))
            continue
        group.append(name)
        group_bytes += nbytes
        if group_bytes >= GROUP_BYTES:
            units.append(tuple(group))
            group, group_bytes = [], 0
    if group:
        units.append(tuple(group))
    return units


def _rms(differences: list[np.ndarray]) -> float:
    total = sum(float(np.sum(np.square(d, dtype=np.float64))) for d in differences)
    count = sum(d.size for d in differences)
    return math.sqrt(total / count) if count else 0.0


def _estimate(cost8: float, noise: float, noise8: float) -> float:
    """Estimated mean squared difference of a dtype ``noise`` (RMS) away from the weight, from uint8's."""
    if noise == 0.0:
        return 0.0
    if noise8 == 0.0:
        return math.inf  # never measured: only float32 and exact dtypes are safe to predict
    return cost8 * (noise / noise8) ** 2


def _hull_steps(unit: int, points: list[tuple[int, float, str]]) -> list[_Step]:
    """Steps from the largest option (float32) along the lower convex hull of (bytes, error²)."""
    steps: list[_Step] = []
    current = points[0]
    remaining = [p for p in points[1:] if p[0] < current[0] and math.isfinite(p[1])]
    while remaining:
        best = max(remaining, key=lambda p: (_ratio(current[0] - p[0], p[1] - current[1]), -p[0]))
        steps.append(_Step(unit, best[2], current[0] - best[0], max(best[1] - current[1], 0.0)))
        current = best
        remaining = [p for p in remaining if p[0] < current[0]]
    return steps


def _ratio(saved: int, cost: float) -> float:
    return math.inf if cost <= 0.0 else saved / cost


def _predicted_prefix(spent: float, steps: list[_Step], budget: float) -> int:
    """The longest prefix of ``steps`` whose estimated cost, added to ``spent``, stays within ``budget``."""
    for count, step in enumerate(steps):
        spent += step.cost
        if spent > budget:
            return count
    return len(steps)
