"""Plain records passed between stages (and between processes: all are picklable, TF-free)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WeightInfo:
    """One weight as written: its manifest name, shape, stored dtype and bytes on disk."""

    name: str
    shape: tuple[int, ...]
    dtype: str  # stored dtype: float32, int32, bool, string, uint8, uint16, float16, complex64
    nbytes: int
    group: str = ""  # for the "where do the bytes go" chart: layer or name prefix


@dataclass(frozen=True)
class AccuracyFigures:
    """How far the quantized model's outputs are from the float model's, over ``samples`` inputs."""

    max_abs_error: float
    max_rel_error: float
    top1_agreement: float | None  # None when no output looks like a classifier
    samples: int


@dataclass(frozen=True)
class DtypeBytes:
    before: int
    after: int


@dataclass(frozen=True)
class ConvertResult:
    """What a conversion reports back to the builder, besides the files it wrote."""

    params: int  # total number of weight elements
    ops: tuple[str, ...]  # sorted unique op names (including function library bodies)
    weights: tuple[WeightInfo, ...] = ()
    rewrites: tuple[str, ...] = ()  # e.g. "Erfc -> 1 - Erf (2 nodes: gelu/Erfc, ...)"
    quantization: dict[str, DtypeBytes] = field(default_factory=dict)  # by source dtype -> stored
    accuracy: AccuracyFigures | None = None
    warnings: tuple[str, ...] = ()
    verified: dict[str, AccuracyFigures] | None = None  # per backend, set by the build's verify step (verify/at_build)
