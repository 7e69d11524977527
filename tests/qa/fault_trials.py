"""kill -9 at seeded random moments of a build and of a publish, then check what is left and that the next run
recovers. Shared by tests/qa/test_build_faults.py (a dozen trials of each per run) and bench/hostile.py (more).

Builds use the stand-in converter (tests/engine/stand_in_converter.py: instant, deterministic, no TensorFlow)
in a separate process (tests/engine/build_script.py), so what is tested is the engine's order of effects:
temp folder -> cache -> swap -> lock. Publishes are the real CLI against the real nginx origin of
tests/publish. A trial kills only the main process, as the OOM killer would; its workers must go too.

After the kill: tfjs.lock reads; every cache entry is complete (its blobs there, each blob matching its
name); every model folder is a whole build's output (what the lock lists, or what a cache entry lists);
nothing was written outside the project; on the origin, no object is partial, no model.json is there
without its shards and no latest.json without its files. After the next run (not killed): exit 0, the
outputs byte for byte those of a clean run, and no temp file left anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE.parent / "engine", HERE.parent / "publish"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from built_project import Project  # noqa: E402
from nginx_origin import Origin, origin_yaml  # noqa: E402
from projects import DATA_FILE, age, snapshot  # noqa: E402
from qa_cli import group_ends  # noqa: E402
from stand_in_runs import HERE as ENGINE_TESTS  # noqa: E402
from stand_in_runs import run_build  # noqa: E402

from tfjs_build.engine.lockfile import LOCK_NAME, LockEntry, read_lock  # noqa: E402
from tfjs_build.errors import TfjsBuildError  # noqa: E402
from tfjs_build.publish.bundle import model_digest  # noqa: E402

MODELS = {"m0": 400_000, "m1": 50_000, "m2": 900_000, "m3": 10_000, "m4": 200_000}


@dataclass
class Outcome:
    """One trial: what was wrong after the kill, and after the run that should recover."""

    seed: int
    kind: str
    killed_after: float
    killed: bool = False
    after_kill: list[str] = field(default_factory=list)
    after_recovery: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return not self.after_kill and not self.after_recovery


def config_text(float16: tuple[str, ...]) -> str:
    lines = ["version: 1", "models:"]
    for name in MODELS:
        lines += [f"  {name}:", f"    source: models/{name}", f"    quantize: {'float16' if name in float16 else 'uint8'}"]
    return "\n".join(lines) + "\n"


CONFIG_A, CONFIG_B = config_text(()), config_text(("m0", "m2", "m4"))


class BuildTrials:
    """A sandbox holding a source template and the clean-build outputs of both configs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.template = root / "template"
        for name, size in MODELS.items():
            folder = self.template / "models" / name
            (folder / "variables").mkdir(parents=True)
            (folder / "saved_model.pb").write_bytes(name.encode() * 100)
            (folder / "variables" / "variables.index").write_bytes(b"index-" + name.encode())
            (folder / DATA_FILE).write_bytes(random.Random(name).randbytes(size))
        self.reference = {config: self._clean_build(config) for config in (CONFIG_A, CONFIG_B)}
        self.duration = self._timed_build()

    def _project(self, name: str, config: str) -> Path:
        project = self.root / name / "project"
        shutil.rmtree(project.parent, ignore_errors=True)
        shutil.copytree(self.template, project)
        (project / "tfjs.yaml").write_text(config, encoding="utf-8")
        age(project)
        return project

    def _clean_build(self, config: str) -> dict[str, bytes]:
        project = self._project("reference", config)
        assert not run_build(project).failed
        return snapshot(project)

    def _timed_build(self) -> float:
        project = self._project("timing", CONFIG_A)
        start = time.monotonic()
        build_process(project).communicate(timeout=120)
        return time.monotonic() - start

    def trial(self, seed: int) -> Outcome:
        rng = random.Random(seed)
        kind = rng.choice(["fresh", "rebuild", "restore"])
        project, target = self._prepared(kind)
        outcome = Outcome(seed, f"build-{kind}", rng.uniform(0, self.duration))
        outcome.killed = kill_after(build_process(project), outcome)
        return self._checked(project, target, outcome)

    def point_trial(self, point: str, kind: str) -> Outcome:
        """Kill -9 at the first time the build reaches the named ``point`` (kill_at_point.py)."""
        project, target = self._prepared(kind)
        outcome = Outcome(0, f"build-{kind}-{point}", 0.0)
        process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("kill_at_point.py")),
                                    str(project / "tfjs.yaml"), point, "1"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        process.communicate(timeout=120)
        outcome.killed = process.returncode == -signal.SIGKILL
        if not group_ends(process.pid, within=15.0):
            outcome.after_kill.append(f"processes of killed pid {process.pid} still running after 15 s")
            os.killpg(process.pid, signal.SIGKILL)
        return self._checked(project, target, outcome)

    def _prepared(self, kind: str) -> tuple[Path, str]:
        """A trial project about to run a fresh build, a rebuild, or a build that restores from the cache."""
        project = self._project("trial", CONFIG_A)
        target = CONFIG_A
        if kind in ("rebuild", "restore"):
            run_build(project)
            (project / "tfjs.yaml").write_text(CONFIG_B, encoding="utf-8")
            target = CONFIG_B
        if kind == "restore":  # both configs are in the cache now; going back restores from it
            run_build(project)
            (project / "tfjs.yaml").write_text(CONFIG_A, encoding="utf-8")
            target = CONFIG_A
        return project, target

    def _checked(self, project: Path, target: str, outcome: Outcome) -> Outcome:
        """What the kill left (must be consistent) and what the next build made of it (a clean build's bytes)."""
        outcome.after_kill += build_problems(project, self.root / "trial")
        again = build_process(project)
        _, err = again.communicate(timeout=120)
        if again.returncode != 0:
            outcome.after_recovery.append(f"recovery build exit {again.returncode}: {err[-1000:]}")
        elif snapshot(project) != self.reference[target]:
            outcome.after_recovery.append("recovered outputs or tfjs.lock differ from a clean build's")
        outcome.after_recovery += leftovers(project)
        return outcome


def build_process(project: Path) -> subprocess.Popen:
    """A build with the stand-in converter, in a session of its own: its workers share its process group."""
    return subprocess.Popen([sys.executable, str(ENGINE_TESTS / "build_script.py"), str(project / "tfjs.yaml")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def kill_after(process: subprocess.Popen, outcome: Outcome) -> bool:
    """SIGKILL the process (not its workers) after ``outcome.killed_after`` seconds, unless it ended first;
    its workers must then exit on their own. Whether it was killed."""
    try:
        process.wait(timeout=outcome.killed_after)
        killed = False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        killed = True
    process.communicate(timeout=60)
    if not group_ends(process.pid, within=15.0):
        outcome.after_kill.append(f"processes of killed pid {process.pid} still running after 15 s")
        os.killpg(process.pid, signal.SIGKILL)
    return killed


def build_problems(project: Path, sandbox: Path) -> list[str]:
    """What is inconsistent in a project right after a kill."""
    problems = []
    try:
        lock = read_lock(project / LOCK_NAME)
    except TfjsBuildError as exc:
        return [f"tfjs.lock unreadable after the kill: {exc}"]
    cache = project / ".tfjs-build" / "cache"
    entries = {}
    for path in (cache / "entries").rglob("*.json"):
        try:
            entries[path.stem] = LockEntry.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(f"cache entry {path.name} unreadable: {exc}")
    for blob in (cache / "blobs").rglob("*"):
        if blob.is_file() and not blob.name.endswith(".tmp") and _sha256(blob) != blob.name:
            problems.append(f"cache blob {blob.name} holds other bytes")
    for entry in entries.values():
        if any(not (cache / "blobs" / f.sha256[:2] / f.sha256).is_file() for f in entry.files):
            problems.append(f"cache entry {entry.fingerprint[:12]} lists a blob that is not there")
    out = project / "dist" / "tfjs"
    for folder in sorted(p for p in out.glob("*") if not p.name.startswith(".")) if out.is_dir() else []:
        candidates = [lock.models.get(folder.name), *entries.values()]
        if not any(e is not None and _holds_exactly(folder, e) for e in candidates):
            problems.append(f"{folder.name}/ is not the whole output of any build (neither locked nor cached)")
    return problems + outside(sandbox, project)


def _holds_exactly(folder: Path, entry: LockEntry) -> bool:
    files = {p.name for p in folder.iterdir()}
    return files == {f.path for f in entry.files} and all(_sha256(folder / f.path) == f.sha256 for f in entry.files)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def outside(sandbox: Path, project: Path) -> list[str]:
    """Files under ``sandbox`` that are not in ``project``: written outside the project."""
    return [f"written outside the project: {p}" for p in sandbox.rglob("*")
            if p != project and project not in p.parents and p not in project.parents]


def leftovers(project: Path) -> list[str]:
    """Temp files or folders a killed run left that the next run did not clean up."""
    found = [p for p in project.rglob("*") if p.name.endswith(".tmp") or ".tmp-" in p.name]
    found += list((project / ".tfjs-build" / "work").glob("*")) if (project / ".tfjs-build" / "work").is_dir() else []
    return [f"left over after recovery: {p.relative_to(project)}" for p in found]


class PublishTrials:
    """A built project with many shards (so an upload takes a while) and a real nginx origin."""

    def __init__(self, root: Path, origin: Origin) -> None:
        self.root, self.origin = root, origin
        self.duration = self._timed_publish()

    def _project(self, prefix: str, seed: int) -> tuple[Project, dict[str, bytes]]:
        folder = self.root / prefix
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        project = Project(folder)
        project.write_config(origin_yaml(f"{self.origin.url}/{prefix}"), models=("alpha",))
        rng = random.Random(seed)
        files = {f"group1-shard{i}of24.bin": rng.randbytes(150_000) for i in range(1, 25)}
        files["model.json"] = json.dumps({"format": "graph-model", "seed": seed}).encode()
        return project, project.build_files("alpha", files)

    def _publish(self, project: Project) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "tfjs_build", "--no-color", "-C", str(project.root), "publish"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)

    def _timed_publish(self) -> float:
        project, _ = self._project("timing", 0)
        start = time.monotonic()
        self._publish(project).communicate(timeout=120)
        return time.monotonic() - start

    def trial(self, seed: int) -> Outcome:
        rng = random.Random(seed)
        prefix = f"trial{seed}"
        kind = rng.choice(["first", "update"])
        if kind == "update":  # an older version is online: latest.json must never point at a half upload
            old, _ = self._project(prefix, seed + 1_000_000)
            with contextlib.redirect_stdout(io.StringIO()):
                assert old.publish() == 0
        project, files = self._project(prefix, seed)
        outcome = Outcome(seed, f"publish-{kind}", rng.uniform(0, self.duration))
        outcome.killed = kill_after(self._publish(project), outcome)
        digest = model_digest(read_lock(project.root / LOCK_NAME).models["alpha"])
        online = self.origin.root / prefix / "alpha"
        outcome.after_kill += origin_problems(online, digest, files) + outside(self.root / prefix, project.root)
        again = self._publish(project)
        _, err = again.communicate(timeout=120)
        if again.returncode != 0:
            outcome.after_recovery.append(f"recovery publish exit {again.returncode}: {err[-1000:]}")
        elif {p.name: p.read_bytes() for p in (online / digest).iterdir()} != files:
            outcome.after_recovery.append("recovered origin does not hold exactly the built files")
        elif json.loads((online / "latest.json").read_text())["digest"] != digest:
            outcome.after_recovery.append("latest.json does not point at the published version")
        return outcome


def origin_problems(online: Path, digest: str, files: dict[str, bytes]) -> list[str]:
    """What a reader of the origin could trip over right after a kill."""
    problems = []
    folder = online / digest
    present = {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}
    problems += [f"{name} online is partial or wrong" for name, data in present.items() if files.get(name) != data]
    if "model.json" in present and set(present) != set(files):
        problems.append("model.json is online before all its shards")
    pointer = online / "latest.json"
    if pointer.is_file():
        current = json.loads(pointer.read_text())
        listed = {f["name"] for f in current["files"]}
        there = {p.name for p in (online / current["digest"]).iterdir()} if (online / current["digest"]).is_dir() else set()
        if not listed <= there:
            problems.append(f"latest.json points at {current['digest']}, which is incomplete online")
    return problems


def run_trials(trials: BuildTrials | PublishTrials, seeds: range) -> list[Outcome]:
    return [trials.trial(seed) for seed in seeds]

