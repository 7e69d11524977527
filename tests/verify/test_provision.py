"""verify provisions its own TF.js: the pinned runtime installed once per user by real npm, and Chromium found.

``provision.JS_DIR`` is pointed at a copy of the shipped js/ folder without node_modules, as a
wheel install has it. The install test runs the real ``npm ci`` against the registry.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tfjs_build.errors import TfjsBuildError
from tfjs_build.verify import provision

SHIPPED = Path(provision.__file__).parent / "js"


@pytest.fixture
def wheel_js(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """js/ as a wheel installs it (no node_modules), and an empty per-user cache."""
    js = tmp_path / "site-packages" / "js"
    js.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(SHIPPED / name, js / name)
    monkeypatch.setattr(provision, "JS_DIR", js)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(provision.NODE_DIR_ENV, raising=False)
    return js


def fake_tool(folder: Path, name: str, script: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(f"#!/bin/sh\n{script}\n")
    (folder / name).chmod(0o755)


@pytest.mark.slow
def test_first_use_installs_the_pinned_runtime_into_the_user_cache_then_reuses_it(wheel_js, tmp_path, monkeypatch, capfd):
    found = provision.node_modules_dir()
    assert found == tmp_path / "cache" / "tfjs-build" / provision.runtime_folder().name / "node_modules"
    assert provision.runtime_folder().name.startswith("tfjs-runtime-")
    assert (found / "@tensorflow" / "tfjs" / "package.json").is_file()
    assert (found / "@tensorflow" / "tfjs-backend-wasm").is_dir() and (found / "puppeteer-core").is_dir()
    assert "installing the pinned TF.js 4.22.0 runtime (once) into" in capfd.readouterr().err

    bin_dir = tmp_path / "no-npm"
    fake_tool(bin_dir, "npm", "echo npm must not run again >&2; exit 1")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert provision.node_modules_dir() == found
    assert capfd.readouterr().err == ""


def test_without_node_or_npm_the_error_says_what_to_install(wheel_js, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(TfjsBuildError) as error:
        provision.node_modules_dir()
    message = str(error.value)
    assert "node and npm is not on PATH: install Node.js >= 18 with npm" in message and "\n" not in message
    assert not (tmp_path / "cache" / "tfjs-build").exists() or not any((tmp_path / "cache" / "tfjs-build").iterdir())


def test_an_unreachable_registry_is_one_line_and_leaves_no_half_install(wheel_js, tmp_path, monkeypatch):
    """Real npm, pointed at a closed port on 127.0.0.1 (no retries, so it fails at once)."""
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))  # nothing cached: must ask the registry
    monkeypatch.setenv("npm_config_offline", "false")
    with pytest.raises(TfjsBuildError) as error:
        provision.node_modules_dir()
    message = str(error.value)
    assert message.startswith("cannot reach the npm registry to install the TF.js runtime (") and "\n" not in message
    assert "ECONNREFUSED" in message
    assert not provision.runtime_folder().exists()
    assert not list(provision.runtime_folder().parent.glob("*.tmp-*"))


def test_the_node_dir_variable_still_overrides_and_is_checked(wheel_js, tmp_path, monkeypatch):
    good = tmp_path / "mine" / "node_modules"
    (good / "@tensorflow" / "tfjs").mkdir(parents=True)
    (good / "@tensorflow" / "tfjs" / "package.json").write_text('{"version": "4.22.0"}')
    monkeypatch.setenv(provision.NODE_DIR_ENV, str(good))
    assert provision.node_modules_dir() == good
    (good / "@tensorflow" / "tfjs" / "package.json").write_text('{"version": "4.10.0"}')
    with pytest.raises(TfjsBuildError, match=r"has @tensorflow/tfjs 4\.10\.0, tfjs-build needs exactly 4\.22\.0"):
        provision.node_modules_dir()


def test_chromium_from_the_variable_then_path_then_usual_places_else_how_to_install(tmp_path, monkeypatch):
    browser = tmp_path / "bin" / "chromium"
    fake_tool(browser.parent, "chromium", "exit 0")
    monkeypatch.setenv(provision.CHROMIUM_ENV, str(browser))
    assert provision.chromium_path() == str(browser)
    monkeypatch.setenv(provision.CHROMIUM_ENV, str(tmp_path / "nope"))
    with pytest.raises(TfjsBuildError, match="TFJS_BUILD_CHROMIUM=.*nope: no such file"):
        provision.chromium_path()
    monkeypatch.delenv(provision.CHROMIUM_ENV)
    monkeypatch.setenv("PATH", str(browser.parent))
    assert provision.chromium_path() == str(browser)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(provision, "CHROMIUM_PLACES", (str(tmp_path / "opt" / "chrome"),))
    with pytest.raises(TfjsBuildError, match=r"install it \(`apt-get install -y chromium`"):
        provision.chromium_path()
    fake_tool(tmp_path / "opt", "chrome", "exit 0")
    assert provision.chromium_path() == str(tmp_path / "opt" / "chrome")
