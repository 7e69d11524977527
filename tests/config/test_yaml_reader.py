"""tfjs.yaml from a hostile or careless hand: every refusal is a ConfigError naming the line and key, never a hang or a crash.

Issue 13 found these on the old reader (PyYAML's composer): a 454-byte alias bomb ran for a
minute in 2.5 GB, 10,000 nested lists and 3,000 nested mappings raised RecursionError,
a control character or a 5,000-digit integer escaped as a traceback (exit 3).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from config_project import error, load

from tfjs_build.config import yaml_reader
from tfjs_build.config.yaml_reader import MAX_ALIASED_VALUES, MAX_DEPTH, Doc

# Nine levels of nine aliases: 9**9 (387 million) strings once expanded, in 454 bytes.
LAUGHS = "version: 1\nmodels: {}\nx:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"  {chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


@pytest.mark.timeout(60)
def test_alias_bomb_is_refused_naming_line_and_key(project: Path) -> None:
    assert len(LAUGHS.encode()) < 500
    message = error(project, LAUGHS)
    assert message.startswith("tfjs.yaml:")
    assert f"aliases (*{'e'}) repeat more than {MAX_ALIASED_VALUES} values in all" in message
    assert ": x.f[" in message  # the key whose alias went over the bound


def test_aliases_within_the_bound_still_work(project: Path) -> None:
    config = load(project, """\
        version: 1
        models:
          a: &model {source: sm, budgets: &budgets {size: 1MiB}, tags: [serve, gpu]}
          b: *model
          c: {source: net.keras, budgets: *budgets}
        """)
    a, b, c = config.models
    assert (a.tags, b.tags, b.budgets, c.budgets.size) == (("serve", "gpu"), ("serve", "gpu"), a.budgets, 1024**2)
    assert b.where("tags") == "tfjs.yaml:3:64: models.b.tags"  # where the anchored value was written
    assert c.where("budgets") == "tfjs.yaml:3:35: models.c.budgets"


@pytest.mark.parametrize(("text", "message"), [
    ("version: 1\nmodels: " + "[" * 10_000 + "]" * 10_000 + "\n",
     "tfjs.yaml:2:40: models" + "[0]" * (MAX_DEPTH - 1) + f": nested more than {MAX_DEPTH} levels deep"),
    ("version: 1\nmodels:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(3_000)),
     f"tfjs.yaml:{MAX_DEPTH + 2}:{2 * MAX_DEPTH + 1}: models." + ".".join(f"k{i}" for i in range(MAX_DEPTH - 1))
     + f": nested more than {MAX_DEPTH} levels deep"),
])
def test_deep_nesting_is_refused_naming_line_and_key(project: Path, text: str, message: str) -> None:
    assert error(project, text).startswith(message)


@pytest.mark.parametrize(("text", "message"), [
    ("version: 1\nmodels:\n  a: {source: sm, shard_size: " + "9" * 5_000 + "}\n",
     "tfjs.yaml:3:31: models.a.shard_size: cannot read '999999999999999999999999999999999999999... (5002 characters) "
     "as int (Exceeds the limit (4300 digits) for integer string conversion)"),
    ("version: 1\nmodels:\n  a: {source: sm, signature: 2024-13-01}\n",
     "tfjs.yaml:3:30: models.a.signature: cannot read '2024-13-01' as timestamp (month must be in 1..12)"),
    ("version: 1\x01\nmodels: {}\n",
     "tfjs.yaml:1:11: invalid YAML: unacceptable character #x0001: special characters are not allowed; remove it"),
    ("version: 1\nmodels: &a [*a]\n", "tfjs.yaml:2:13: invalid YAML: found undefined alias 'a'"),
    ("version: 1\nmodels:\n  a: &x {source: sm}\n  b: &x {source: sm}\n",
     "tfjs.yaml:4:6: models.b: YAML anchor &x is defined twice; give each anchor its own name"),
    ("version: 1\nmodels: {}\n---\nversion: 1\n", "tfjs.yaml:3:1: invalid YAML: but found another document"),
    ("version: 1\nmodels:\n  ? [a]\n  : {source: sm}\n", "tfjs.yaml:3:5: models.[]: keys must be strings, got a list"),
    ("version: 1\nmodels:\n  1: {source: sm}\n", "tfjs.yaml:3:3: models.1: keys must be strings, got 1"),
])
def test_values_yaml_cannot_read_are_config_errors(project: Path, text: str, message: str) -> None:
    assert error(project, text) == message


DOCUMENT = """\
version: 1
defaults: &d {backends: [cpu, wasm], budgets: {size: 1MiB}}
models:
  a:
    source: sm
    tags: [serve, 'gpu']
    quantize: {uint8: ["*/kernel"]}
    signature: !!str 12
  b: {source: net.keras, accuracy: {samples: 4, max_error: 0.5}, strip_debug_ops: false}
  c: *d
  "quoted key": ~
"""


def test_libyaml_and_the_pure_python_parser_read_the_same(tmp_path: Path) -> None:
    """Valid files are read with libyaml's parser; the pure-Python one (only for its error wording) must agree."""
    assert hasattr(yaml, "CSafeLoader"), "PyYAML without libyaml: the fast path is not exercised"
    read = []
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):
        doc = Doc("tfjs.yaml", tmp_path)
        read.append((yaml_reader._read(DOCUMENT, doc, loader, yaml), doc.value_marks, doc.key_marks))
    assert read[0] == read[1]
    data, values, keys = read[0]
    assert data == yaml.safe_load(DOCUMENT)
    assert (values["models.a.tags[1]"], keys["models.b"], values["models.c.budgets.size"]) == ((6, 19), (9, 3), (2, 54))
