"""Hypothesis strategies for hostile tfjs.yaml and tfjs.lock documents, and one run of the real CLI on each.

Shared by tests/qa/test_fuzz_documents.py (bounded, derandomized: CI sees the same inputs every
run) and bench/hostile.py (more inputs, counted). The YAML strategy follows the keys of the
shipped JSON Schema, so most documents get deep into the reader before something is wrong;
the lock strategy damages a valid lock at random places; both also produce raw text. Each
document goes through ``cli.main`` in this process (fast: no interpreter start per input).
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st
from projects import FRESH_CONFIG, fresh_project

from tfjs_build import cli
from tfjs_build.engine.lockfile import LOCK_NAME

SCHEMA = json.loads((Path(cli.__file__).parent / "config" / "tfjs.schema.json").read_text(encoding="utf-8"))
YAML_COMMANDS = (("status",), ("check",), ("plan", "--json"), ("publish", "--dry-run"))
LOCK_COMMANDS = (("status",), ("check",), ("plan", "--json"))
OK_CODES = (0, 1, 2)
SLOW = 20.0  # seconds: bench/hostile.py counts a run slower than this as a hang

PATHS = [".", "..", "../outside", "../../outside/x", "/etc/passwd", "/tmp", "models/digits", "models/digits/",
         "labels.json", "dist", "dist/digits", ".git", ".git/objects", ".tfjs-build", ".tfjs-build/cache",
         "tfjs.yaml", "tfjs.lock", "~", "$HOME/x", "a" * 300, "nul\0byte", "models/../models/digits", "C:\\x"]
WORDS = ["1KB", "5GiB", "-1MB", "1e400 MB", "lots", "uint8", "float16", "graph", "layers", "saved_model",
         "keras", "cpu", "wasm", "webgl", "serve", "serving_default", "s3", "http", "github",
         "https://example.invalid/x?q=1", "ftp://x", "{model}-{digest}", "{0}", "{x"]
SECRET_URL = "https://u:pw-secret@example.invalid/x?sig=sig-secret"  # only where a URL goes: never to be printed
URL_KEYS = ("url", "endpoint_url", "public_url", "api_url")
NAMES = ["digits", "docs", "objects", "a", "-x", "..", ".hidden", "x" * 300, "über", "a/b", "", "CON", "digits "]


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(),
        st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from([10**400, -(10**400), 2**63, 2**64 - 1]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(PATHS + WORDS), st.text(max_size=20),
    )


def _values() -> st.SearchStrategy[Any]:
    return st.recursive(_scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(WORDS + NAMES), st.text(max_size=8)),
                                                     inner, max_size=4)), max_leaves=12)


YAML_LINES = ["version: 1", "models:", "  digits:", "    source: models/digits", "    metadata: {labels: labels.json}",
              "a: &a [1, 2]", "b: [*a, *a, *a]", "!!python/object/apply:os.system ['echo pwned']", "- " * 40,
              "{" * 200, "[" * 200, "key: !!binary AAAA", "%YAML 1.1", "---", "...", "\t- x", "x: |", "y: >-",
              "  ? complex", "<<: *a", "'unterminated", "\"\\x", "output_dir: ..", "cache: {remote: ftp://x}"]
TEXT = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))  # control characters: YAML's own error


def _leaf(node: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values at and just past a schema leaf's bounds, its enum, or anything."""
    if "enum" in node:
        return st.one_of(st.sampled_from(node["enum"]), _scalars())
    if node.get("format") == "uri":
        return st.one_of(st.sampled_from([SECRET_URL, SECRET_URL.replace("https", "ftp")]), _scalars())
    bounds = [node[k] for k in ("minimum", "maximum") if k in node]
    edges = [b + d for b in bounds for d in (-1, 0, 1)] + [b * 10 for b in bounds]
    return st.one_of(st.sampled_from(edges), _scalars()) if edges else _scalars()


@st.composite
def _from_schema(draw: st.DrawFn, node: dict[str, Any], depth: int = 0) -> Any:
    """A value shaped like ``node`` most of the time, anything some of the time."""
    if depth > 4 or draw(st.integers(0, 9)) == 0:
        return draw(_values())
    properties = node.get("properties")
    if properties:
        keys = draw(st.lists(st.sampled_from(sorted(properties)), unique=True, max_size=len(properties)))
        return {k: draw(_from_schema(properties[k], depth + 1)) for k in keys}
    for choice in ("oneOf", "anyOf"):
        if choice in node:
            return draw(_from_schema(draw(st.sampled_from(node[choice])), depth + 1))
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        return draw(st.lists(_from_schema(node["items"], depth + 1), max_size=3))
    if node.get("type") == "object":
        return draw(st.dictionaries(st.sampled_from(NAMES + WORDS), _scalars(), max_size=3))
    return draw(_leaf(node))


VALID_CONFIG = FRESH_CONFIG + "publish:\n  t: {type: http, url: 'http://127.0.0.1:9/m'}\n"
PUBLISH_KEYS = ["type", "url", "token_env", "basic_auth_env", "bucket", "prefix", "endpoint_url", "region",
                "addressing_style", "public_url", "access_key_id_env", "secret_access_key_env", "repo", "tag", "name",
                "api_url", "prerelease", "target", "token", "password"]


def _places() -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """(path in a tfjs.yaml, the schema of what goes there) for every key the schema knows, and more."""
    top = SCHEMA["properties"]
    model = top["models"]["additionalProperties"]
    places: list[tuple[tuple[str, ...], dict[str, Any]]] = [((), SCHEMA), (("models", "digits"), model)]
    places += [((k,), v) for k, v in top.items()]
    places += [(("models", "digits", k), v) for k, v in model["properties"].items()]
    places += [(("defaults", k), v) for k, v in top["defaults"]["properties"].items()]
    for group in ("accuracy", "budgets"):
        places += [(("models", "digits", group, k), v) for k, v in model["properties"][group]["properties"].items()]
    places += [(("cache", k), v) for k, v in top["cache"]["properties"].items()]
    places += [(("publish", "t", k), {"enum": ["s3", "http", "github"]} if k == "type" else
                {"format": "uri"} if k in URL_KEYS else {}) for k in PUBLISH_KEYS]
    return places + [(("models", name), model) for name in NAMES]


PLACES = _places()


def _set(data: Any, path: tuple[str, ...], value: Any) -> Any:
    """``data`` with ``value`` at ``path``, making mappings on the way where there are none."""
    if not path:
        return value
    copy = dict(data) if isinstance(data, dict) else {}
    copy[path[0]] = _set(copy.get(path[0]), path[1:], value)
    return copy


@st.composite
def yaml_documents(draw: st.DrawFn) -> str:
    """A tfjs.yaml: a valid one changed at 1 to 3 places the schema knows (dumped as YAML), or YAML-ish lines."""
    if draw(st.integers(0, 4)) == 0:
        lines = draw(st.lists(st.one_of(st.sampled_from(YAML_LINES), st.text(TEXT, max_size=30)), max_size=12))
        return "\n".join(lines) + "\n"
    data = yaml.safe_load(VALID_CONFIG)
    for _ in range(draw(st.integers(1, 3))):
        path, schema = draw(st.sampled_from(PLACES))
        data = _set(data, path, draw(_from_schema(schema)))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


_JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
              st.sampled_from([10**400, -1, 0]), st.floats(allow_nan=True, allow_infinity=True),
              st.sampled_from(PATHS + WORDS + ["", "f" * 64, "0" * 64]), st.text(max_size=12)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


def _paths_in(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (a tuple of keys and indexes) into ``data``."""
    paths = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            paths += _paths_in(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            paths += _paths_in(v, (*prefix, i))
    return paths


def _replace(data: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(data) if isinstance(data, dict) else list(data)
    copy[head] = _replace(data[head], rest, value)
    return copy


@st.composite
def lock_documents(draw: st.DrawFn, valid: str) -> str:
    """``valid`` (a lock's text) with values replaced at random places, or its text cut or spliced."""
    how = draw(st.integers(0, 3))
    if how == 3:
        cut = draw(st.integers(0, len(valid)))
        return valid[:cut] + draw(st.one_of(st.just(""), st.text(max_size=20))) + valid[cut + draw(st.integers(0, 40)):]
    data = json.loads(valid)
    for _ in range(how + 1):
        path = draw(st.sampled_from(_paths_in(data)[1:]))  # the root itself: see the cut and spliced texts
        data = _replace(data, path, draw(_JSON_VALUES))
    deep = draw(st.sampled_from([0] * 9 + [5000]))
    text = json.dumps(data, allow_nan=True)
    return "[" * deep + text + "]" * deep


@dataclass
class Tally:
    """What a fuzz run found: counts for bench/hostile.py, and the first few problems in full."""

    inputs: int = 0
    runs: int = 0
    exit_3: int = 0
    tracebacks: int = 0
    slow: int = 0
    outside: int = 0
    secrets: int = 0
    problems: list[str] = field(default_factory=list)


class Sandbox:
    """A template project (a fresh, locked ``digits``) copied for each input, inside a folder whose other
    contents must stay empty: anything written there was written outside the project."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tfjs-fuzz-"))
        self.template = fresh_project(self.root / "template")
        self.valid_lock = (self.template / LOCK_NAME).read_text(encoding="utf-8")
        self.valid_config = (self.template / "tfjs.yaml").read_text(encoding="utf-8")

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def check(self, name: str, text: str, commands: tuple[tuple[str, ...], ...], tally: Tally) -> list[str]:
        """Run each command on a copy of the template with ``name`` replaced by ``text``; the problems seen."""
        tally.inputs += 1
        problems = []
        work = self.root / "work"
        for command in commands:
            shutil.rmtree(work, ignore_errors=True)
            project = work / "inner" / "project"
            shutil.copytree(self.template, project, symlinks=True)
            (project / name).write_text(text, encoding="utf-8", errors="surrogatepass")
            problems += self._run(project, command, tally)
        tally.problems += problems[: max(0, 5 - len(tally.problems))]
        return problems

    def _run(self, project: Path, command: tuple[str, ...], tally: Tally) -> list[str]:
        out, err = io.StringIO(), io.StringIO()
        start = time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--no-color", "-C", str(project), *command])
        seconds = time.monotonic() - start
        tally.runs += 1
        printed = out.getvalue() + err.getvalue()
        outside = [str(p) for p in (self.root / "work").rglob("*") if not _inside(p, project)]
        found = {"exit_3": code not in OK_CODES, "tracebacks": "Traceback" in printed, "slow": seconds > SLOW,
                 "outside": bool(outside), "secrets": "pw-secret" in printed or "sig-secret" in printed}
        for key, bad in found.items():
            setattr(tally, key, getattr(tally, key) + bad)
        if not any(found.values()):
            return []
        return [f"{' '.join(command)}: exit {code} in {seconds:.1f} s, outside: {outside[:3]}\n{printed[-2000:]}"]


def _inside(path: Path, project: Path) -> bool:
    return path == project or project in path.parents or path in project.parents

