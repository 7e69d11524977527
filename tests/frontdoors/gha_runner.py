"""A stand-in for a GitHub-hosted runner (NOT GitHub's runner): runs one workflow job or composite action locally.

What it does as the real runner does: ``if:`` conditions and ``${{ }}`` expressions
(gha_expressions.py), ``run:`` steps in ``bash --noprofile --norc -eo pipefail`` with the
runner's files and variables (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH, GITHUB_ENV,
RUNNER_TEMP, ...) and the workflow's, job's and step's ``env:`` (inherited by composite actions'
steps), composite actions with their inputs, defaults and outputs, skipping the steps after a
failure, and the job's ``outputs:`` (whole workflows, with needs and matrices: gha_workflow.py).
The marketplace actions are stand-ins: actions/checkout clones a
local repository (always the full history), actions/cache keeps entries in a folder (exact key,
else the newest entry under a restore-keys prefix; saved after the job, as its post step does),
actions/setup-python only records the version (the runner's python3 is used),
actions/upload-artifact copies into a folder. Any other action raises.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from gha_expressions import Evaluator, to_string


@dataclass
class Step:
    id: str
    name: str
    outcome: str  # success | failure | skipped
    outputs: dict[str, str] = field(default_factory=dict)
    log: str = ""


@dataclass
class Job:
    steps: list[Step] = field(default_factory=list)
    summary: str = ""
    artifacts: dict[str, Path] = field(default_factory=dict)
    setup_python: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)  # the job's ``outputs:``, for jobs that need it
    workspace: Path | None = None

    @property
    def ok(self) -> bool:
        return all(s.outcome != "failure" for s in self.steps)

    @property
    def log(self) -> str:
        return "".join(s.log for s in self.steps)

    def step(self, key: str) -> Step:
        return next(s for s in self.steps if key in (s.id, s.name))


def read_outputs(path: Path) -> dict[str, str]:
    """$GITHUB_OUTPUT / $GITHUB_ENV: ``name=value`` lines and ``name<<DELIM`` blocks."""
    found, lines, i = {}, path.read_text(encoding="utf-8").splitlines() if path.exists() else [], 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            found[name] = "\n".join(lines[i + 1:end])
            i = end + 1
        else:
            name, _, value = line.partition("=")
            found[name] = value
            i += 1
    return found


class CacheStandIn:
    """actions/cache's behaviour on a folder: entries by key, each holding copies of the cached paths."""

    def __init__(self, store: Path) -> None:
        self.store = store
        self.store.mkdir(parents=True, exist_ok=True)
        self.saved: list[str] = []

    def restore(self, paths: list[Path], key: str, restore_keys: list[str]) -> str | None:
        """The key restored (exact first, else the newest entry with a prefix), or None."""
        entries = sorted(self.store.iterdir(), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        found = next((e for e in entries if e.name == key), None) or next(
            (e for prefix in restore_keys for e in entries if prefix and e.name.startswith(prefix)), None)
        if found is None:
            return None
        for index, path in enumerate(paths):
            copy = found / str(index)
            if copy.exists():
                shutil.rmtree(path, ignore_errors=True)
                shutil.copytree(copy, path, symlinks=True)
        return found.name

    def save(self, paths: list[Path], key: str) -> None:
        entry = self.store / key
        if entry.exists() or not any(p.exists() for p in paths):
            return  # the real action never overwrites a key, and saves nothing when no path exists
        for index, path in enumerate(paths):
            if path.exists():
                shutil.copytree(path, entry / str(index), symlinks=True)
        entry.mkdir(exist_ok=True)
        self.saved.append(key)


class Runner:
    """One runner machine: its temp folder, tool cache stand-ins, and the local actions it can ``uses:``."""

    def __init__(self, root: Path, env: dict[str, str], actions: dict[str, Path], cache: CacheStandIn,
                 input_overrides: dict[str, str] | None = None, secrets: dict[str, str] | None = None) -> None:
        self.root = root
        self.env = env
        self.actions = actions  # "OWNER/tfjs-build" -> folder holding action.yml
        self.cache = cache
        self.input_overrides = input_overrides or {}  # forced inputs of our action (say so in the test)
        self.secrets = secrets or {}  # besides GITHUB_TOKEN
        self.temp = root / "runner-temp"

    def run_job(self, workflow: Path, job_id: str, event_name: str, event: dict[str, Any], source_repo: Path,
                sha: str, ref: str = "refs/heads/main", contexts: dict[str, Any] | None = None) -> Job:
        """One job (one matrix combination); ``contexts``: ``needs`` and ``matrix`` (gha_workflow.py)."""
        data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        spec = data["jobs"][job_id]
        for folder in (self.temp, self.root / "artifacts"):  # RUNNER_TEMP is emptied between jobs; artifacts are per run
            shutil.rmtree(folder, ignore_errors=True)
        self.temp.mkdir(parents=True)
        workspace = self.root / "workspace"
        shutil.rmtree(workspace, ignore_errors=True)
        workspace.mkdir(parents=True)
        event_path = self.temp / "event.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        run = _JobRun(self, workspace, event_path, source_repo, {"event_name": event_name, "event": event,
                      "sha": sha, "ref": ref, "token": self.env.get("GITHUB_TOKEN", ""),
                      "repository": self.env["GITHUB_REPOSITORY"], "workspace": str(workspace)}, contexts or {})
        env = {**data.get("env", {}), **spec.get("env", {})}
        steps = run.steps(spec["steps"], {"env": env}, action_path=None)
        run.post()
        ev = run.evaluator({"env": env, "steps": steps})
        run.job.outputs = {k: ev.interpolate(to_string(v)) for k, v in (spec.get("outputs") or {}).items()}
        run.job.workspace = workspace
        return run.job


class _JobRun:
    def __init__(self, runner: Runner, workspace: Path, event_path: Path, source_repo: Path, github: dict[str, Any],
                 job_contexts: dict[str, Any]):
        self.runner = runner
        self.job_contexts = job_contexts  # needs, matrix: visible to every expression of the job
        self.workspace = workspace
        self.event_path = event_path
        self.source_repo = source_repo
        self.github = github
        self.job = Job()
        self.posts: list[tuple[list[Path], str]] = []
        self.counter = 0

    def status(self) -> str:
        return "success" if self.job.ok else "failure"

    def evaluator(self, contexts: dict[str, Any]) -> Evaluator:
        base = {"github": self.github, "runner": {"os": "Linux", "temp": str(self.runner.temp)},
                "secrets": {**self.runner.secrets, "GITHUB_TOKEN": self.github["token"]}, "env": {}, "inputs": {},
                "steps": {}, **self.job_contexts}
        return Evaluator({**base, **contexts}, self.workspace, self.status)

    def steps(self, steps: list[dict[str, Any]], contexts: dict[str, Any], action_path: Path | None) -> dict[str, Any]:
        """Run ``steps``; returns the steps context they built (for a composite action's outputs)."""
        context_steps: dict[str, Any] = {}
        for spec in steps:
            self.counter += 1
            ev = self.evaluator({**contexts, "steps": context_steps})
            step = Step(spec.get("id", f"__{self.counter}"), ev.interpolate(str(spec.get("name", ""))), "skipped")
            if ev.condition(spec.get("if")):
                step.outcome = "success"
                try:
                    if "uses" in spec:
                        env = {k: ev.interpolate(to_string(v)) for k, v in {**contexts.get("env", {}),
                                                                             **spec.get("env", {})}.items()}
                        step.outputs = self.uses(spec, ev, action_path, env)
                    else:
                        step.outputs = self.run(spec, ev, contexts, action_path, step)
                except StepFailed as exc:
                    step.outcome, step.outputs = "failure", exc.outputs
                    step.log += exc.log
            self.job.steps.append(step)
            context_steps[step.id] = {"outputs": step.outputs, "outcome": step.outcome, "conclusion": step.outcome}
        return context_steps

    def run(self, spec: dict[str, Any], ev: Evaluator, contexts: dict[str, Any], action_path: Path | None,
            step: Step) -> dict[str, str]:
        self.counter += 1
        files = {name: self.runner.temp / f"_{name}_{self.counter}" for name in ("output", "summary", "env", "script")}
        for path in files.values():
            path.write_text("", encoding="utf-8")
        files["script"].write_text(ev.interpolate(spec["run"]), encoding="utf-8")
        step_env = {k: ev.interpolate(to_string(v)) for k, v in {**contexts.get("env", {}), **spec.get("env", {})}.items()}
        env = {**self.runner.env, **self.github_env(action_path), **step_env,
               "GITHUB_OUTPUT": str(files["output"]), "GITHUB_STEP_SUMMARY": str(files["summary"]),
               "GITHUB_ENV": str(files["env"])}
        cwd = self.workspace / ev.interpolate(spec.get("working-directory", "."))
        result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(files["script"])], cwd=cwd,
                                env=env, capture_output=True, text=True, timeout=1800)
        self.job.summary += files["summary"].read_text(encoding="utf-8")
        outputs = read_outputs(files["output"])
        log = result.stdout + result.stderr
        if result.returncode:
            raise StepFailed(outputs, log + f"\n(exit code {result.returncode})\n")
        step.log += log
        return outputs

    def github_env(self, action_path: Path | None) -> dict[str, str]:
        env = {"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(self.workspace),
               "GITHUB_EVENT_PATH": str(self.event_path), "GITHUB_EVENT_NAME": self.github["event_name"],
               "GITHUB_SHA": self.github["sha"], "GITHUB_REF": self.github["ref"], "RUNNER_OS": "Linux",
               "RUNNER_TEMP": str(self.runner.temp), "GITHUB_REPOSITORY": self.github["repository"]}
        return env | ({"GITHUB_ACTION_PATH": str(action_path)} if action_path else {})

    def uses(self, spec: dict[str, Any], ev: Evaluator, action_path: Path | None, env: dict[str, str]) -> dict[str, str]:
        """``env``: the workflow's, job's and step's variables, which a composite action's steps inherit."""
        name, _, _version = spec["uses"].partition("@")
        given = {k: ev.interpolate(to_string(v)) for k, v in (spec.get("with") or {}).items()}
        if name in self.runner.actions:
            return self.composite(self.runner.actions[name], given, env)
        if name == "actions/checkout":
            self.checkout(given)
            return {}
        if name == "actions/cache":
            paths = [self.workspace / p.strip() for p in given["path"].splitlines() if p.strip()]
            restored = self.runner.cache.restore(paths, given["key"], given.get("restore-keys", "").splitlines())
            self.posts.append((paths, given["key"]))
            return {"cache-hit": "true" if restored == given["key"] else "false"}
        if name == "actions/setup-python":
            self.job.setup_python.append(given.get("python-version", ""))
            return {"python-version": given.get("python-version", "")}
        if name == "actions/upload-artifact":
            target = self.runner.root / "artifacts" / given["name"]
            shutil.copytree(self.workspace / given["path"], target)
            self.job.artifacts[given["name"]] = target
            return {}
        raise ValueError(f"the runner stand-in has no action {spec['uses']!r}")

    def checkout(self, given: dict[str, str]) -> None:
        subprocess.run(["git", "clone", "-q", str(self.source_repo), str(self.workspace)], check=True,
                       capture_output=True, env=self.runner.env)
        subprocess.run(["git", "checkout", "-q", self.github["sha"]], cwd=self.workspace, check=True,
                       capture_output=True, env=self.runner.env)

    def composite(self, folder: Path, given: dict[str, str], env: dict[str, str]) -> dict[str, str]:
        action = yaml.safe_load((folder / "action.yml").read_text(encoding="utf-8"))
        assert action["runs"]["using"] == "composite"
        unknown = set(given) - set(action["inputs"])
        assert not unknown, f"inputs the action does not declare: {unknown}"
        ev = self.evaluator({})
        inputs = {k: given.get(k, ev.interpolate(to_string(v.get("default", "")))) for k, v in action["inputs"].items()}
        inputs |= self.runner.input_overrides
        before = len(self.job.steps)
        steps = self.steps(action["runs"]["steps"], {"inputs": inputs, "env": env}, action_path=folder)
        ev = self.evaluator({"inputs": inputs, "steps": steps})
        outputs = {k: ev.interpolate(to_string(v["value"])) for k, v in action.get("outputs", {}).items()}
        if any(s.outcome == "failure" for s in self.job.steps[before:]):
            raise StepFailed(outputs, "")  # the inner steps keep their own logs
        return outputs

    def post(self) -> None:
        for paths, key in reversed(self.posts):
            self.runner.cache.save(paths, key)


class StepFailed(Exception):
    def __init__(self, outputs: dict[str, str], log: str) -> None:
        super().__init__(log)
        self.outputs = outputs
        self.log = log
