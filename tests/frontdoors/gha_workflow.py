"""A stand-in for GitHub Actions running a whole workflow (NOT GitHub's scheduler): jobs in ``needs`` order.

What it does as GitHub does: each job (and each combination of its ``strategy.matrix``) runs on a
machine of its own (a fresh ``Runner`` from ``new_runner``: its own workspace, clone and temp folder;
actions/cache is the repository's, shared); a job's ``if:`` sees ``needs`` (the result and outputs of
the jobs it needs) and, without a status function, runs only when all of them succeeded; a job whose
``if:`` is false is skipped; a matrix (given inline or as an expression such as
``fromJSON(needs.plan.outputs.matrix)``) runs once per combination with the ``matrix`` context, and
the job's result is failure if any combination failed. Unlike GitHub, the jobs run one after another
(matrix combinations in order), not in parallel. Matrices with ``exclude``, or ``include`` beside other
keys, raise: a workflow using more than this is noticed rather than misread.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from gha_expressions import Evaluator, to_string
from gha_runner import Job, Runner


@dataclass
class JobResult:
    result: str  # success | failure | skipped
    outputs: dict[str, str] = field(default_factory=dict)
    runs: list[tuple[dict[str, Any], Job]] = field(default_factory=list)  # (matrix combination, job) per machine


def job_order(jobs: dict[str, Any]) -> list[str]:
    """Job ids with every job after the jobs it needs (workflow order among the ready ones)."""
    order: list[str] = []
    while len(order) < len(jobs):
        ready = [j for j in jobs if j not in order and all(n in order for n in _needs(jobs[j]))]
        if not ready:
            raise ValueError(f"jobs needing each other or an unknown job: {sorted(set(jobs) - set(order))}")
        order.append(ready[0])
    return order


def _needs(spec: dict[str, Any]) -> list[str]:
    needs = spec.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def combinations(matrix: Any) -> list[dict[str, Any]]:
    """A ``strategy.matrix`` (already evaluated) -> one dict per job to run."""
    if not isinstance(matrix, dict):
        raise ValueError(f"matrix must be a mapping, got {matrix!r}")
    if "exclude" in matrix:
        raise ValueError("the workflow stand-in does not implement matrix exclude")
    keys = {k: v for k, v in matrix.items() if k != "include"}
    if keys and matrix.get("include"):
        raise ValueError("the workflow stand-in implements include only without other matrix keys")
    if not keys:
        return [dict(item) for item in matrix.get("include", [])]
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*keys.values())]


class WorkflowRun:
    """One run of a workflow file for one event; ``new_runner(name)`` gives each job's machine."""

    def __init__(self, workflow: Path, new_runner: Callable[[str], Runner], event_name: str, event: dict[str, Any],
                 source_repo: Path, sha: str, ref: str = "refs/heads/main") -> None:
        self.workflow = workflow
        self.spec = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        self.new_runner = new_runner
        self.event = (event_name, event, source_repo, sha, ref)
        self.results: dict[str, JobResult] = {}

    def run(self) -> dict[str, JobResult]:
        for job_id in job_order(self.spec["jobs"]):
            self.results[job_id] = self.run_job(job_id)
        return self.results

    def run_job(self, job_id: str) -> JobResult:
        spec = self.spec["jobs"][job_id]
        needs = {n: {"result": self.results[n].result, "outputs": self.results[n].outputs} for n in _needs(spec)}
        ev = self.evaluator(needs, {})
        if not ev.condition(spec.get("if")):
            return JobResult("skipped")
        matrix = (spec.get("strategy") or {}).get("matrix")
        if isinstance(matrix, str):
            matrix = ev.evaluate(matrix.strip().removeprefix("${{").removesuffix("}}"))
        done = JobResult("success")
        for i, combination in enumerate(combinations(matrix) if matrix is not None else [{}]):
            event_name, event, source_repo, sha, ref = self.event
            job = self.new_runner(f"{job_id}-{i + 1}").run_job(
                self.workflow, job_id, event_name, event, source_repo, sha, ref,
                contexts={"needs": needs, "matrix": combination})
            done.runs.append((combination, job))
            done.outputs.update(job.outputs)  # GitHub: a matrix job's outputs come from whichever set them last
            if not job.ok:
                done.result = "failure"
        return done

    def evaluator(self, needs: dict[str, Any], matrix: dict[str, Any]) -> Evaluator:
        """For a job's ``if:`` and its matrix: ``github`` and ``needs``; status: success only if every need did."""
        event_name, event, _, sha, ref = self.event
        ok = all(n["result"] == "success" for n in needs.values())
        contexts = {"github": {"event_name": event_name, "event": event, "sha": sha, "ref": ref},
                    "needs": needs, "matrix": matrix, "env": self.spec.get("env", {}), "inputs": {}}
        return Evaluator(contexts, Path("."), lambda: "success" if ok else "failure")

    def name(self, job_id: str, combination: dict[str, Any]) -> str:
        """The job's display name (``name:`` with ``matrix`` filled in), as the checks list shows it."""
        raw = self.spec["jobs"][job_id].get("name", job_id)
        return self.evaluator({}, combination).interpolate(to_string(raw))
