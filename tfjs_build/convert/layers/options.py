"""Context of a translation and the option objects inside layer configs: activations,
initializers, regularizers, constraints and dtypes, each checked against ``support``.

Pure (JSON in, JSON out, no tensorflow).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from tfjs_build.convert.layers import support as S
from tfjs_build.errors import UnsupportedModelError

# Activations ``rewrites`` turns into layers -> whether they multiply by x (hard_sigmoid: Keras 3's only).
HARD_ACTIVATIONS = {"hard_silu": True, "hard_swish": True, "hard_sigmoid": False}

if TYPE_CHECKING:
    from tfjs_build.convert.layers.normalization import NormalizationSpec


@dataclass(frozen=True)
class Context:
    """Where messages point (``model.where("source")``), which Keras wrote the config, and the
    TF.js backends the model must run on (``backends:``, located by ``backends_where``).
    Filled while translating: every layer name (``names``, so added layers get unused ones)
    and the Normalization layers rewritten (``normalizations``, whose weights come later)."""

    where: str
    keras3: bool
    backends: tuple[str, ...] = ()
    backends_where: str = "backends"
    names: set[str] = field(default_factory=set, compare=False)
    normalizations: dict[str, NormalizationSpec] = field(default_factory=dict, compare=False)

    def fail(self, path: str, cls: str, what: str, hint: str = S.GRAPH_HINT) -> NoReturn:
        raise UnsupportedModelError(
            f"{self.where}: layer {path!r} ({cls}): {what}; so tfjs-layers {S.TFJS_VERSION} cannot run it "
            f"as a layers model. Fix: {hint}"
        )


def kind(value: Any) -> tuple[str, dict[str, Any]]:
    """(class name, config) of a serialized object; a bare string is (name, {})."""
    if isinstance(value, str):
        return value, {}
    if isinstance(value, dict) and "class_name" in value:
        config = value.get("config")
        if value.get("class_name") == "function" and isinstance(config, str):
            return config, {}  # Keras 3's form of a function reference
        return str(value["class_name"]), config if isinstance(config, dict) else {}
    return repr(value), {}


def is_custom(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    module = str(value.get("module") or "keras")
    return value.get("registered_name") not in (None, "function") or not module.startswith("keras")


def activation_of(value: Any, ctx: Context, path: str, cls: str, key: str) -> str:
    name, _ = kind(value)
    known = dict(S.ACTIVATIONS) if ctx.keras3 else {**S.ACTIVATIONS, **S.KERAS2_ONLY_ACTIVATIONS}
    if is_custom(value) or name not in known:
        what = "custom activation" if is_custom(value) else "activation"
        extra = " (Keras 3's hard_sigmoid is relu6(x+3)/6, TF.js's is clip(0.2x+0.5))" if name == "hard_sigmoid" else ""
        if not is_custom(value) and name in HARD_ACTIVATIONS:
            extra += (" and tfjs-build rewrites it into Rescaling, ReLU(max_value=6) and Multiply layers only as "
                      "the output activation of a layer of a model, not inside a recurrent cell or a wrapper")
        ctx.fail(path, cls, f"option {key}: {what} {name!r} is not one tfjs-layers has{extra}; "
                 f"supported: {', '.join(sorted(known))}")
    return known[name]


@dataclass(frozen=True)
class _Family:
    """Initializers, regularizers or constraints: Keras's alias names, the members tfjs-layers has,
    how a refusal lists them, and the fix it suggests."""

    what: str
    aliases: Mapping[str, str]
    members: Mapping[str, Any]
    listed: Callable[[], str]
    hint: str

    def member(self, value: Any, ctx: Context, path: str, cls: str, key: str) -> tuple[str, dict[str, Any]]:
        """(tfjs-layers name, config) of ``value``; refuses a custom object or one tfjs-layers lacks."""
        name, config = kind(value)
        name = self.aliases.get(name, name)
        if is_custom(value) or name not in self.members:
            ctx.fail(path, cls, f"option {key}: {self.what} {name!r} is not one tfjs-layers has{self.listed()}",
                     self.hint)
        return name, config


_INITIALIZERS = _Family(
    "initializer", S.INITIALIZER_NAMES, S.INITIALIZERS,
    lambda: f"; supported: {', '.join(sorted(set(v[0] for v in S.INITIALIZERS.values())))}",
    "use a built-in initializer (the weights are loaded anyway, so any built-in one works)")
_REGULARIZERS = _Family(
    "regularizer", S.REGULARIZER_NAMES, S.REGULARIZERS, lambda: " (only L1, L2, L1L2)",
    "remove the regularizer (it only matters for training) or use L1/L2")
_CONSTRAINTS = _Family(
    "constraint", S.CONSTRAINT_NAMES, S.CONSTRAINTS, lambda: f"; supported: {', '.join(sorted(S.CONSTRAINTS))}",
    "remove the constraint (it only matters for training) or use a built-in one")


def initializer_of(value: Any, ctx: Context, path: str, cls: str, key: str) -> dict[str, Any]:
    name, config = _INITIALIZERS.member(value, ctx, path, cls, key)
    target, keys = S.INITIALIZERS[name]
    return {"class_name": target, "config": {k: v for k, v in config.items() if k in keys}}


def regularizer_of(value: Any, ctx: Context, path: str, cls: str, key: str) -> dict[str, Any]:
    name, config = _REGULARIZERS.member(value, ctx, path, cls, key)
    amounts = {part: float(config.get(part, 0.0) or 0.0) for part in S.REGULARIZERS[name]}
    return {"class_name": "L1L2", "config": {"l1": amounts.get("l1", 0.0), "l2": amounts.get("l2", 0.0)}}


def constraint_of(value: Any, ctx: Context, path: str, cls: str, key: str) -> dict[str, Any]:
    name, config = _CONSTRAINTS.member(value, ctx, path, cls, key)
    return {"class_name": name, "config": {k: v for k, v in config.items() if k in S.CONSTRAINTS[name]}}


def dtype_of(value: Any, ctx: Context, path: str, cls: str, allow_int: bool) -> str:
    name, config = kind(value)
    if isinstance(value, dict):
        name = str(config.get("name", name))
    mapped = S.DTYPES.get(name)
    if mapped is None or (not allow_int and mapped != "float32"):
        ctx.fail(path, cls, f"dtype {name!r} is not supported (TF.js layers compute in float32)",
                 "save the model with the float32 dtype policy (keras.config.set_dtype_policy('float32'))")
    return mapped


def same_value(value: Any, allowed: Any) -> bool:
    numbers = (int, float)
    if isinstance(value, bool) or isinstance(allowed, bool):
        return value is allowed
    if isinstance(value, numbers) and isinstance(allowed, numbers):
        return value == allowed
    return type(value) is type(allowed) and value == allowed


def show(value: Any) -> str:
    """A config value as it reads in JSON (null, true, "same", [1, 1])."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
