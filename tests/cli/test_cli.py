"""The CLI's contract: global options, exit codes, messages without tracebacks, init."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_process import run_cli

from tfjs_build import __version__
from tfjs_build.config import load_config


def tfjs_build(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd, env=env, timeout=120)


def test_version(tmp_path: Path) -> None:
    result = tfjs_build("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == f"tfjs-build {__version__}"


def test_bad_config_is_exit_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "tfjs.yaml").write_text("version: 1\nmodels:\n  a: {sorce: x}\n")
    result = tfjs_build("status", cwd=tmp_path, env={"NO_COLOR": "1"})
    assert result.returncode == 2
    assert result.stderr == (
        "error: tfjs.yaml:3:7: models.a.sorce: unknown key (did you mean 'source'?); expected one of "
        "source, sha256, input_format, format, signature, tags, outputs, quantize, shard_size, backends, "
        "strip_debug_ops, control_flow_v2, split_weights_by_layer, metadata, budgets, accuracy, verify\n"
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_config_names_the_fix(tmp_path: Path) -> None:
    result = tfjs_build("-C", str(tmp_path), "status", cwd=Path("/"), env={"NO_COLOR": "1"})
    assert result.returncode == 2
    assert "tfjs.yaml: no such file; run `tfjs-build init` to create one" in result.stderr


def test_dash_c_dir_and_config_file(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "other.yaml").write_text("version: 1\nmodels: {a: {source: nope.h5}}\n")
    result = tfjs_build("-C", "proj", "-c", "other.yaml", "status", cwd=tmp_path, env={"NO_COLOR": "1"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: proj/other.yaml:2:22: models.a.source: no such file or directory")


def test_missing_directory(tmp_path: Path) -> None:
    result = tfjs_build("-C", "nowhere", "status", cwd=tmp_path, env={"NO_COLOR": "1"})
    assert (result.returncode, result.stderr) == (2, "error: -C nowhere: no such directory\n")


def test_color_follows_no_color_and_force_color(tmp_path: Path) -> None:
    forced = tfjs_build("status", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert "\033[31merror: \033[0m" in forced.stderr
    off = tfjs_build("--no-color", "status", cwd=tmp_path, env={"FORCE_COLOR": "1"})
    assert "\033[" not in off.stderr


def test_usage_error_is_exit_2(tmp_path: Path) -> None:
    assert tfjs_build("frobnicate", cwd=tmp_path).returncode == 2


def test_init_finds_models_and_writes_a_valid_config(tmp_path: Path) -> None:
    (tmp_path / "models" / "My Net").mkdir(parents=True)
    (tmp_path / "models" / "My Net" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "models" / "My Net" / "variables").mkdir()
    (tmp_path / "models" / "classifier.keras").write_bytes(b"")
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "ignored.h5").write_bytes(b"")
    result = tfjs_build("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "tfjs.yaml").read_text()
    assert "    source: models/My Net   # saved_model" in text
    assert "    source: models/classifier.keras   # keras" in text
    assert "ignored" not in text
    config = load_config(tmp_path / "tfjs.yaml")
    assert [m.name for m in config.models] == ["my-net", "classifier"]
    again = tfjs_build("init", cwd=tmp_path, env={"NO_COLOR": "1"})
    assert again.returncode == 2 and "already exists; pass --force to overwrite it" in again.stderr


def test_init_in_an_empty_folder_writes_a_loadable_template(tmp_path: Path) -> None:
    assert tfjs_build("init", cwd=tmp_path).returncode == 0
    assert load_config(tmp_path / "tfjs.yaml").models == ()


@pytest.mark.parametrize("module", ["tfjs_build", "tfjs_build.cli"])
def test_importing_does_not_import_tensorflow(module: str) -> None:
    script = f"import {module}\nfrom tfjs_build.cli import COMMANDS, build_parser\nfor name in COMMANDS: build_parser(name)"
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert "tfjs_build" in imported and "tensorflow" not in imported and "keras" not in imported


def test_version_imports_no_command_module() -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "tfjs_build", "--version"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("tfjs-build ")
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {name for name in imported if name.startswith(("tfjs_build.commands.", "tfjs_build.config"))}


@pytest.mark.parametrize("argv", [["-C", "{p}", "-q", "status"], ["status", "-C", "{p}", "-q"], ["-C", "{p}", "status", "-q"]])
def test_global_options_work_before_or_after_the_command(tmp_path: Path, argv: list[str]) -> None:
    (tmp_path / "tfjs.yaml").write_text("version: 1\nmodels: {}\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = tfjs_build(*[arg.format(p=tmp_path) for arg in argv], cwd=elsewhere)
    assert result.returncode == 0, result.stderr


def test_a_folder_named_like_a_command_is_not_taken_for_one(tmp_path: Path) -> None:
    project = tmp_path / "build"
    project.mkdir()
    (project / "tfjs.yaml").write_text("version: 1\nmodels: {}\n", encoding="utf-8")
    result = tfjs_build("-C", "build", "status", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
