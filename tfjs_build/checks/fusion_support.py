"""Which fusions each TF.js backend is PROVEN to compute like TensorFlow, per fused op, activation,
bias and activation parameter class.

A backend may register a fused kernel and an activation and still compute the pair wrongly (TF.js
4.22's graph executor never passes ``leakyrelu_alpha`` to ``FusedDepthwiseConv2dNative``), so
names read from TF.js's sources prove nothing. The facts live in ``fusion_support.json``, which
``scripts/gen_fusion_support.py`` writes by building every pattern the fusion passes emit in
TensorFlow, converting it with tfjs-build and running it on each backend. The converter emits a
fusion only when it is proven on every target backend, and ``tfjs-build check`` flags built fused
nodes that are not: both ask this module (json only, no tensorflow).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from tfjs_build.checks.packaged import PackagedTable

NO_ACTIVATION = "none"
PER_CHANNEL, PER_POSITION = "per_channel", "per_position"  # prelu alpha: one per channel, or per (h, w, c)
# The zero bias the converter gives a fusion without BiasAdd is named so; checks tell the two apart by it.
ZERO_BIAS_PREFIX = "tfjs_build/zero_bias_"
ZERO_BIAS_SUFFIX = "/zero_bias"
NOT_MEASURED = "not measured"
FUSED_OPS = ("_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul")
NOT_ACTIVATIONS = ("biasadd", "fusedbatchnorm", "fusedbatchnormv3", "add", "addv2")


# Boolean attrs of a fused op that pick another kernel code path, so each combination is its own
# fusion (TF.js 4.22's wasm adds the bias wrongly in a _FusedMatMul with transpose_b).
TRAIT_ATTRS = {"_FusedMatMul": ("transpose_a", "transpose_b")}


@dataclass(frozen=True, order=True)
class Fusion:
    """One fused form: op, activation (TF.js's lower-case name, or ``none``), a real bias or a zero one,
    the activation's parameter class (prelu alpha layout; empty when it has none) and the op's set
    ``TRAIT_ATTRS``."""

    op: str
    activation: str = NO_ACTIVATION
    bias: bool = True
    param: str = ""
    traits: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """``FusedDepthwiseConv2dNative/leakyrelu/bias``, ``_FusedMatMul[transpose_b]/prelu:per_channel/no_bias``."""
        op = f"{self.op}[{','.join(self.traits)}]" if self.traits else self.op
        activation = f"{self.activation}:{self.param}" if self.param else self.activation
        return f"{op}/{activation}/{'bias' if self.bias else 'no_bias'}"

    def describe(self) -> str:
        """``FusedDepthwiseConv2dNative + leakyrelu`` (with its traits, parameter class and bias kind)."""
        extra = [*self.traits, self.param.replace("_", " ")] if self.param else [*self.traits]
        extra += [] if self.bias else ["zero bias"]
        activation = f" + {self.activation}" if self.activation != NO_ACTIVATION else " + bias only"
        return f"{self.op}{activation}" + (f" ({', '.join(extra)})" if extra else "")


def traits_of(op: str, flags: Mapping[str, bool]) -> tuple[str, ...]:
    """The ``TRAIT_ATTRS`` of ``op`` that are set in ``flags`` (attr name -> value)."""
    return tuple(name for name in TRAIT_ATTRS.get(op, ()) if flags.get(name))


@dataclass(frozen=True)
class FusionTable:
    """The parsed data file: per backend, the proven fusion keys and why the others failed."""

    tfjs_version: str
    proven: Mapping[str, frozenset[str]]
    failed: Mapping[str, Mapping[str, str]]

    @classmethod
    def assume_proven(cls, fusions: Iterable[Fusion], backends: Sequence[str], tfjs_version: str) -> FusionTable:
        """A table trusting ``fusions`` everywhere: what the generator converts with, to measure them."""
        keys = frozenset(f.key for f in fusions)
        return cls(tfjs_version, {b: keys for b in backends}, {b: {} for b in backends})

    def why_not(self, fusion: Fusion, backend: str) -> str | None:
        """None when ``fusion`` is proven on ``backend``; else what went wrong (or that it was never measured)."""
        if fusion.key in self.proven.get(backend, frozenset()):
            return None
        return self.failed.get(backend, {}).get(fusion.key, NOT_MEASURED)

    def failing(self, fusion: Fusion, backends: Iterable[str]) -> dict[str, str]:
        """Backend -> reason, for each of ``backends`` where ``fusion`` is not proven."""
        reasons = {backend: self.why_not(fusion, backend) for backend in backends}
        return {backend: why for backend, why in reasons.items() if why is not None}


def load() -> FusionTable:
    """The packaged table (read once per process), or the one ``override`` put in place."""
    return _SHIPPED.current()


def override(table: FusionTable) -> AbstractContextManager[FusionTable]:
    """Use ``table`` instead of the packaged one inside the block (the generator measuring; tests)."""
    return _SHIPPED.override(table)


def parse(data: Mapping[str, Any]) -> FusionTable:
    backends = data["backends"]
    return FusionTable(
        tfjs_version=data["tfjs_version"],
        proven={name: frozenset(entry["proven"]) for name, entry in backends.items()},
        failed={name: dict(entry["failed"]) for name, entry in backends.items()},
    )


_SHIPPED = PackagedTable("fusion_support.json", parse)


def failing(fusion: Fusion, backends: Iterable[str]) -> dict[str, str]:
    """Backend -> reason for each target backend where the packaged table does not prove ``fusion``."""
    return load().failing(fusion, backends)


def is_proven(fusion: Fusion, backends: Iterable[str]) -> bool:
    return not failing(fusion, backends)


def is_zero_bias(name: str) -> bool:
    """True for the zero bias the converter adds to fuse a conv/matmul that had no BiasAdd."""
    return name.startswith(ZERO_BIAS_PREFIX) or name.endswith(ZERO_BIAS_SUFFIX)


def prelu_param(alpha_shape: Sequence[int]) -> str:
    """The parameter class of a fused prelu alpha as emitted: rank 1 is per channel, rank 3 per position."""
    return PER_CHANNEL if len(alpha_shape) <= 1 else PER_POSITION


def node_fusion(node: Mapping[str, Any], shapes: Mapping[str, Sequence[int]]) -> Fusion | None:
    """The fusion a model.json node carries (None for other nodes); ``shapes``: weight name -> shape."""
    if node.get("op") not in FUSED_OPS:
        return None
    encoded = node.get("attr", {}).get("fused_ops", {}).get("list", {}).get("s", [])
    names = [base64.b64decode(value).decode("utf-8", "replace").lower() for value in encoded]
    activations = [name for name in names if name not in NOT_ACTIVATIONS]
    activation = activations[-1] if activations else NO_ACTIVATION
    extra = [ref.split(":")[0] for ref in node.get("input", [])[2:] if not ref.startswith("^")]
    bias = not (extra and is_zero_bias(extra[0]))
    param = prelu_param(shapes.get(extra[1], ())) if activation == "prelu" and len(extra) > 1 else ""
    flags = {name: bool(value.get("b")) for name, value in node.get("attr", {}).items() if isinstance(value, dict)}
    return Fusion(node["op"], activation, bias, param, traits_of(node["op"], flags))
