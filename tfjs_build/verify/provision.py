"""Find, or install once, what ``verify`` runs models in: the pinned TF.js node modules, and Chromium for webgl.

A wheel install has no ``verify/js/node_modules`` and no checkout to run ``npm ci`` in, so on
first use the runtime pinned by the shipped package-lock.json is installed with ``npm ci``
into a per-user cache folder named after the lock's hash (``$XDG_CACHE_HOME/tfjs-build``,
default ~/.cache/tfjs-build) and reused afterwards; a new tfjs-build with another lock gets
a folder of its own. Order: $TFJS_BUILD_NODE_DIR, a checkout's own node_modules, the cache.
Anything missing (node, npm, the registry, Chromium) is one line saying what to install.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tfjs_build.errors import TfjsBuildError

JS_DIR = Path(__file__).parent / "js"
TFJS_VERSION = "4.22.0"
NODE_DIR_ENV = "TFJS_BUILD_NODE_DIR"
CHROMIUM_ENV = "TFJS_BUILD_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_PLACES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/snap/bin/chromium",
                   "/opt/google/chrome/chrome", "/Applications/Chromium.app/Contents/MacOS/Chromium",
                   "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")
COMPLETE = ".tfjs-build-complete"  # written last: a folder without it is an interrupted install
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH", "network")


def node_modules_dir() -> Path:
    """The node_modules holding @tensorflow/tfjs at the pinned version (op support data and the converter
    target exactly that version), installing it into the user cache on first use."""
    configured = os.environ.get(NODE_DIR_ENV)
    if configured:
        problem = _tfjs_problem(Path(configured))
        if problem:
            raise TfjsBuildError(f"${NODE_DIR_ENV}={configured}: {problem}; point it at a node_modules folder with "
                                 f"@tensorflow/tfjs {TFJS_VERSION} (or unset it and tfjs-build installs its own)")
        return Path(configured)
    if _tfjs_problem(JS_DIR / "node_modules") is None:  # a checkout where `npm ci --prefix` was run
        return JS_DIR / "node_modules"
    folder = runtime_folder()
    if not (folder / COMPLETE).is_file() or _tfjs_problem(folder / "node_modules"):
        _install(folder)
    return folder / "node_modules"


def runtime_folder() -> Path:
    """The cache folder of the runtime pinned by this version's package-lock.json."""
    lock_hash = hashlib.sha256((JS_DIR / "package-lock.json").read_bytes()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tfjs-build" / f"tfjs-runtime-{lock_hash}"


def _tfjs_problem(node_modules: Path) -> str | None:
    package = node_modules / "@tensorflow" / "tfjs" / "package.json"
    if not package.is_file():
        return "no @tensorflow/tfjs there"
    version = json.loads(package.read_text(encoding="utf-8")).get("version")
    return None if version == TFJS_VERSION else f"it has @tensorflow/tfjs {version}, tfjs-build needs exactly {TFJS_VERSION}"


def _install(folder: Path) -> None:
    """``npm ci`` of the shipped lock into a temp folder beside ``folder``, renamed into place when complete."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if path is None)
        raise TfjsBuildError(f"verify runs models in TF.js under Node.js, and {missing} is not on PATH: install "
                             f"Node.js >= 18 with npm (e.g. `apt-get install -y nodejs npm`), or set {NODE_DIR_ENV} "
                             f"to a node_modules folder with @tensorflow/tfjs {TFJS_VERSION}")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(JS_DIR / name, work / name)
    print(f"tfjs-build: installing the pinned TF.js {TFJS_VERSION} runtime (once) into {folder} ...", file=sys.stderr,
          flush=True)
    started = time.monotonic()
    try:
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise TfjsBuildError(_npm_failure(result.stdout + result.stderr))
        (work / COMPLETE).write_text(TFJS_VERSION + "\n", encoding="utf-8")
        _move_into_place(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"tfjs-build: TF.js runtime installed in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def _move_into_place(work: Path, folder: Path) -> None:
    """Rename, unless another process finished first (then theirs stands); a broken leftover is replaced."""
    if folder.exists() and not (folder / COMPLETE).is_file():
        shutil.rmtree(folder, ignore_errors=True)
    try:
        work.rename(folder)
    except OSError:
        if not (folder / COMPLETE).is_file():
            raise


def _npm_failure(output: str) -> str:
    lines = [line.removeprefix("npm ERR! ").removeprefix("npm error ").strip() for line in output.splitlines()]
    detail = next((line for line in lines if line and any(e in line for e in NETWORK_ERRORS)), None)
    if detail is not None:
        return (f"cannot reach the npm registry to install the TF.js runtime ({detail}); check the network or proxy "
                f"(`npm config get registry`), or set {NODE_DIR_ENV} to a node_modules folder with @tensorflow/tfjs "
                f"{TFJS_VERSION}")
    last = next((line for line in reversed(lines) if line), "no output")
    return f"npm ci of the TF.js runtime failed: {last}; or set {NODE_DIR_ENV} to a node_modules folder with it"


def chromium_path() -> str:
    """Chromium for the webgl backend: $TFJS_BUILD_CHROMIUM, else a browser on PATH, else a usual install place."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        if not Path(configured).is_file():
            raise TfjsBuildError(f"${CHROMIUM_ENV}={configured}: no such file; point it at a Chromium or Chrome binary")
        return configured
    found = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    found = found or next((place for place in CHROMIUM_PLACES if Path(place).is_file()), None)
    if found is None:
        raise TfjsBuildError(
            f"the webgl backend runs in headless Chromium, and none was found (PATH: {', '.join(CHROMIUM_NAMES)}; "
            f"or {', '.join(CHROMIUM_PLACES[:3])}, ...): install it (`apt-get install -y chromium`, "
            f"`brew install --cask chromium`) or set {CHROMIUM_ENV} to its path"
        )
    return found
