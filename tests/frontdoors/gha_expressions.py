"""A stand-in for the GitHub Actions expression language (NOT GitHub's evaluator): what our workflows use.

Literals ('str', numbers, true/false/null), context paths (``steps.run.outputs.exit-code``,
``github.event.pull_request.base.sha``, ``x['y']``, ``fromJSON(s).include[0]``), ``! == != && ||``, parentheses, and
the functions fromJSON, toJSON, format, contains, startsWith, endsWith, hashFiles and the
status checks success(), failure(), always(), cancelled(). An unknown context, function or
syntax raises, so a workflow using more than this is noticed rather than misread.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!().,\[\]])"
                   r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))")
INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def to_string(value: Any) -> str:
    """How a value is pasted into a string: null is empty, booleans lower case, objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and value == value


class Evaluator:
    def __init__(self, contexts: dict[str, Any], workspace: Path, status: Callable[[], str]) -> None:
        self.contexts = contexts
        self.workspace = workspace
        self.status = status  # "success" | "failure": the job so far

    def interpolate(self, text: str) -> str:
        return INTERPOLATION.sub(lambda m: to_string(self.evaluate(m.group(1))), text)

    def condition(self, text: str | bool | None) -> bool:
        """A step's ``if:``: absent means success(); a bare expression is implicitly wrapped."""
        if text is None:
            return self.status() == "success"
        if isinstance(text, bool):
            return text
        inner = text.strip()
        match = INTERPOLATION.fullmatch(inner)
        expression = match.group(1) if match else inner
        uses_status = re.search(r"\b(success|failure|always|cancelled)\s*\(", expression)
        result = truthy(self.evaluate(expression))
        return result if uses_status else result and self.status() == "success"

    def evaluate(self, text: str) -> Any:
        tokens = self._tokens(text)
        value, rest = self._or(tokens)
        if rest:
            raise ValueError(f"unexpected {rest[0]!r} in expression {text!r}")
        return value

    def _tokens(self, text: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        text = text.strip()
        while position < len(text):
            match = TOKEN.match(text, position)
            if not match or match.end() == position:
                raise ValueError(f"cannot read expression {text!r} at {text[position:]!r}")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            position = match.end()
        return tokens

    def _or(self, tokens: list) -> tuple[Any, list]:
        return _chain(tokens, "||", self._and, lambda left, right: left if truthy(left) else right)

    def _and(self, tokens: list) -> tuple[Any, list]:
        return _chain(tokens, "&&", self._compare, lambda left, right: right if truthy(left) else left)

    def _compare(self, tokens: list) -> tuple[Any, list]:
        left, tokens = self._unary(tokens)
        if tokens and tokens[0] in (("op", "=="), ("op", "!=")):
            right, rest = self._unary(tokens[1:])
            same = _loose(left) == _loose(right)
            return (same if tokens[0][1] == "==" else not same), rest
        return left, tokens

    def _unary(self, tokens: list) -> tuple[Any, list]:
        if tokens and tokens[0] == ("op", "!"):
            value, rest = self._unary(tokens[1:])
            return not truthy(value), rest
        return self._primary(tokens)

    def _primary(self, tokens: list) -> tuple[Any, list]:
        kind, text = tokens[0]
        rest = tokens[1:]
        if kind == "str":
            return text[1:-1].replace("''", "'"), rest
        if kind == "num":
            return float(text), rest
        if (kind, text) == ("op", "("):
            value, rest = self._or(rest)
            return value, rest[1:]
        if kind != "name":
            raise ValueError(f"unexpected {text!r}")
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text], rest
        if rest and rest[0] == ("op", "("):
            return self._call(text, rest[1:])
        if text not in self.contexts:
            raise ValueError(f"unknown context {text!r}")
        return self._path(self.contexts[text], rest)

    def _path(self, value: Any, tokens: list) -> tuple[Any, list]:
        while tokens and tokens[0] in (("op", "."), ("op", "[")):
            if tokens[0][1] == ".":
                key, tokens = tokens[1][1], tokens[2:]
            else:
                key, tokens = self._or(tokens[1:])
                tokens = tokens[1:]
            value = _index(value, key)
        return value, tokens

    def _call(self, name: str, tokens: list) -> tuple[Any, list]:
        args = []
        while tokens[0] != ("op", ")"):
            value, tokens = self._or(tokens)
            args.append(value)
            if tokens[0] == ("op", ","):
                tokens = tokens[1:]
        value = self._function(name, args)
        return self._path(value, tokens[1:])

    def _function(self, name: str, args: list[Any]) -> Any:
        functions: dict[str, Callable[..., Any]] = {
            "fromJSON": lambda s: json.loads(s),
            "toJSON": lambda v: json.dumps(v, indent=2),
            "format": lambda f, *a: re.sub(r"\{(\d+)\}", lambda m: to_string(a[int(m.group(1))]), f),
            "contains": lambda h, n: (n in h) if isinstance(h, list) else to_string(n).lower() in to_string(h).lower(),
            "startsWith": lambda s, p: to_string(s).lower().startswith(to_string(p).lower()),
            "endsWith": lambda s, p: to_string(s).lower().endswith(to_string(p).lower()),
            "hashFiles": self._hash_files,
            "success": lambda: self.status() == "success",
            "failure": lambda: self.status() == "failure",
            "always": lambda: True,
            "cancelled": lambda: False,
        }
        if name not in functions:
            raise ValueError(f"unknown function {name}()")
        return functions[name](*args)

    def _hash_files(self, *patterns: str) -> str:
        """sha256 over the sha256 of each matching file (empty when none match), like the runner's."""
        files = sorted({p for pattern in patterns for p in glob.glob(str(self.workspace / pattern), recursive=True)
                        if Path(p).is_file()})
        if not files:
            return ""
        outer = hashlib.sha256()
        for path in files:
            outer.update(hashlib.sha256(Path(path).read_bytes()).digest())
        return outer.hexdigest()


def _index(value: Any, key: Any) -> Any:
    """``value.key`` / ``value[key]``: an object's property, an array's element (by number), else null."""
    if isinstance(value, dict):
        return value.get(to_string(key))
    if isinstance(value, list) and isinstance(key, float) and key.is_integer() and 0 <= key < len(value):
        return value[int(key)]
    return None


def _loose(value: Any) -> Any:
    """GitHub compares strings case-insensitively and numbers by value."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool) or value is None:
        return value
    return float(value) if isinstance(value, (int, float)) else value


def _chain(tokens: list, op: str, operand: Callable[[list], tuple[Any, list]],
           combine: Callable[[Any, Any], Any]) -> tuple[Any, list]:
    """``operand (op operand)*`` folded left to right by ``combine``: GitHub's || and && give one of the operands."""
    value, tokens = operand(tokens)
    while tokens and tokens[0] == ("op", op):
        right, tokens = operand(tokens[1:])
        value = combine(value, right)
    return value, tokens
