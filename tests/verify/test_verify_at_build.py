"""``verify:`` in tfjs.yaml: after converting, the build runs the model in real TF.js on each declared backend
against TensorFlow, records each backend's figures in tfjs.lock, fails the model (exit 1) when they differ
(previous output and lock entry stand), and ``check`` shows which backends each model was verified on."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cli_process import run_cli

from tfjs_build.config import load_config
from tfjs_build.convert.result import AccuracyFigures, ConvertResult
from tfjs_build.engine.lockfile import Lock, LockEntry, OutputFile, parse_lock, render_lock
from tfjs_build.terminal import Console

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
SHA = "0" * 64


# ---------------------------------------------------------------- the setting (no TensorFlow)


def _project(tmp_path: Path, models: str, defaults: str = "") -> Path:
    (tmp_path / "m.keras").write_bytes(b"")
    (tmp_path / "tfjs.yaml").write_text(f"version: 1\ndefaults: {{{defaults}}}\nmodels:\n{models}")
    return tmp_path / "tfjs.yaml"


def test_verify_setting_per_model_and_in_defaults(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path, defaults="verify: true", models=(
        "  inherits: {source: m.keras, format: layers}\n"
        "  more: {source: m.keras, format: layers, verify: {samples: 4}}\n"
        "  opts-out: {source: m.keras, format: layers, verify: false}\n")))
    got = {m.name: (m.verify.enabled, m.verify.samples, m.output_settings().get("verify")) for m in config.models}
    assert got == {"inherits": (True, 2, {"samples": 2}), "more": (True, 4, {"samples": 4}),
                   "opts-out": (False, 2, None)}


def test_verify_off_leaves_the_settings_that_locks_record_as_they_were(tmp_path: Path) -> None:
    config = load_config(_project(tmp_path, models="  a: {source: m.keras, format: layers}\n"))
    assert "verify" not in config.models[0].output_settings()


@pytest.mark.parametrize(("value", "message"), [
    ("yes please", "models.a.verify: expected true, false or a mapping with keys samples, got 'yes please'"),
    ("{samples: 0}", "models.a.verify.samples: expected a whole number"),
    ("{sample: 3}", "models.a.verify.sample: unknown key (did you mean 'samples'?)"),
])
def test_bad_verify_settings_name_the_key(tmp_path: Path, value: str, message: str) -> None:
    from tfjs_build.errors import ConfigError

    with pytest.raises(ConfigError, match=r"tfjs\.yaml:\d+:\d+: ") as caught:
        load_config(_project(tmp_path, models=f"  a: {{source: m.keras, format: layers, verify: {value}}}\n"))
    assert message in str(caught.value)


# ---------------------------------------------------------------- tfjs.lock and check (no TensorFlow)


def _entry(settings: dict, verified: dict[str, AccuracyFigures] | None) -> LockEntry:
    return LockEntry(fingerprint="f" * 64, converter="1", inputs={}, settings=settings,
                     files=(OutputFile("model.json", 10, SHA),), size=10, transfer=8, transfer_brotli=None,
                     shards=0, params=3, ops=(), verified=verified)


FIGURES = {"cpu": AccuracyFigures(1e-7, 3e-7, None, 2), "wasm": AccuracyFigures(2e-6, 2e-6, 1.0, 2)}


def test_lock_records_figures_per_backend_and_nothing_when_verify_is_off() -> None:
    plain = render_lock(Lock({"m": _entry({}, None)}))
    assert "verified" not in plain
    text = render_lock(Lock({"m": _entry({}, FIGURES)}))
    assert json.loads(text)["models"]["m"]["verified"]["wasm"] == {
        "max_abs_error": 2e-6, "max_rel_error": 2e-6, "top1_agreement": 1.0, "samples": 2}
    assert parse_lock(text, "tfjs.lock").models["m"].verified == FIGURES
    assert render_lock(parse_lock(plain, "tfjs.lock")) == plain


def test_check_shows_the_backends_each_model_was_verified_on(tmp_path: Path) -> None:
    from tfjs_build.checks.run import run_checks
    from tfjs_build.report import render_json
    from tfjs_build.report.markdown import render_markdown
    from tfjs_build.report.table import render_console

    config = load_config(_project(tmp_path, models=(
        "  checked: {source: m.keras, format: layers, verify: true}\n  plain: {source: m.keras, format: layers}\n")))
    checked, plain = config.models
    lock = Lock({"checked": _entry(checked.output_settings(), FIGURES), "plain": _entry(plain.output_settings(), None)})
    report = run_checks(config, lock)
    stream = io.StringIO()
    render_console(report, Console(color=False, stream=stream))
    table = stream.getvalue().splitlines()
    assert "Verified (max rel error)" in table[0]
    assert "cpu 3e-07, wasm 2e-06" in next(line for line in table if line.startswith("checked"))
    assert "–  ok" in next(line for line in table if line.startswith("plain"))
    assert "| cpu 3e-07, wasm 2e-06 |" in render_markdown(report)
    models = {m["name"]: m for m in json.loads(render_json(report))["models"]}
    assert sorted(models["checked"]["verified"]) == ["cpu", "wasm"] and models["plain"]["verified"] == {}
    unverified = run_checks(config, Lock({"plain": lock.models["plain"]}), ["plain"])
    stream = io.StringIO()
    render_console(unverified, Console(color=False, stream=stream))
    assert "Verified" not in stream.getvalue()


# ---------------------------------------------------------------- real builds (TensorFlow in the workers, TF.js)


def tfjs_build(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_cli("--no-color", *args, cwd=cwd, env={"NO_COLOR": "1"}, timeout=1200)


def quickstart(root: Path, backends: str) -> Path:
    """The quickstart project with ``verify: true`` for both its models, on ``backends``."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("dist", ".tfjs-build", "tfjs.lock"))
    path = root / "tfjs.yaml"
    text = path.read_text()
    assert "  backends: [cpu, wasm, webgl]\n" in text
    path.write_text(text.replace("  backends: [cpu, wasm, webgl]\n", f"  backends: {backends}\n  verify: true\n"))
    return root


@pytest.fixture(scope="module")
def verified_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = quickstart(tmp_path_factory.mktemp("verified") / "p", "[cpu, wasm]")
    result = tfjs_build("build", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    return project


@pytest.mark.slow
@pytest.mark.node
def test_a_correct_build_records_each_backends_figures_and_check_shows_them(verified_project: Path) -> None:
    lock = json.loads((verified_project / "tfjs.lock").read_text())
    for name in ("digits", "digits-layers"):
        verified = lock["models"][name]["verified"]
        assert sorted(verified) == ["cpu", "wasm"], name
        assert all(0 <= figures["max_rel_error"] < 1e-2 and figures["samples"] == 2 for figures in verified.values())
    layers = lock["models"]["digits-layers"]["verified"]
    assert all(figures["max_rel_error"] <= 1e-4 for figures in layers.values())  # float32: the plain limit
    check = tfjs_build("check", cwd=verified_project)
    assert check.returncode == 0, check.stdout + check.stderr
    row = next(line for line in check.stdout.splitlines() if line.startswith("digits-layers"))
    assert "cpu " in row and "wasm " in row
    report = json.loads(tfjs_build("check", "--format", "json", cwd=verified_project).stdout)
    assert {m["name"]: sorted(m["verified"]) for m in report["models"]} == {
        "digits": ["cpu", "wasm"], "digits-layers": ["cpu", "wasm"]}


def tampered_convert(model, source: Path, out_dir: Path, work_dir: Path) -> ConvertResult:
    """Stand-in for a converter bug: the real converter, then its first weight shard's float32 values x 1.5."""
    from tfjs_build.convert import convert_model

    result = convert_model(model, source, out_dir, work_dir)
    shard = out_dir / json.loads((out_dir / "model.json").read_text())["weightsManifest"][0]["paths"][0]
    shard.write_bytes((np.frombuffer(shard.read_bytes(), dtype="<f4") * np.float32(1.5)).tobytes())
    return result


@pytest.mark.slow
@pytest.mark.node
def test_a_wrong_conversion_fails_the_build_naming_backend_and_error(verified_project: Path, tmp_path: Path) -> None:
    from tfjs_build.engine.build import build

    project = tmp_path / "p"
    shutil.copytree(verified_project, project)
    lock_before = (project / "tfjs.lock").read_bytes()
    out = project / "dist" / "tfjs" / "digits-layers"
    files_before = {p.name: p.read_bytes() for p in out.iterdir()}
    summary = build(load_config(project / "tfjs.yaml"), Console(verbosity=-1, color=False), ["digits-layers"],
                    force=True, convert_fn=tampered_convert)
    assert summary.exit_code == 1 and summary.built == []
    [(name, message, code)] = summary.failed
    assert (name, code) == ("digits-layers", 1)
    assert "models.digits-layers.verify: TF.js 4.22.0 does not compute what TensorFlow computes on cpu: " \
           "max abs error" in message
    assert "; on wasm: max abs error" in message and "(limit 0.0001)" in message
    assert "the previous output and tfjs.lock entry stand" in message and "models.digits-layers.backends" in message
    assert (project / "tfjs.lock").read_bytes() == lock_before
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files_before


@pytest.mark.slow
@pytest.mark.browser
def test_webgl_is_verified_in_chromium(tmp_path: Path, chromium: str) -> None:
    project = quickstart(tmp_path / "p", "[webgl]")
    result = tfjs_build("build", "digits-layers", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    verified = json.loads((project / "tfjs.lock").read_text())["models"]["digits-layers"]["verified"]
    assert list(verified) == ["webgl"] and verified["webgl"]["max_rel_error"] <= 1e-4
