"""The hostile probe as a script: kill -9 trials, fuzzed documents, a hostile remote cache, secret scans; counts.

    .venv/bin/python bench/hostile.py [--seed N] [--trials 24] [--examples 300]

Runs, in this one process (each part reuses the test suite's harness, with more inputs and fresh
randomness from --seed, default: the clock):

1. kill -9 at random moments of ``--trials`` builds and as many publishes (tests/qa/fault_trials.py);
2. hypothesis on ``--examples`` tfjs.yaml and as many tfjs.lock documents (tests/qa/fuzz_documents.py),
   each through status, check, plan (and publish --dry-run); a run slower than 20 s counts as a hang;
3. every fault of the hostile cache server (tests/engine/hostile_server.py), fetching and pushing, with a
   2 s deadline: each must cost exactly one warning and leave the outputs a clean build makes;
4. publishing with secrets in the target URL (user:password@, ?sig=), with -v, and against API errors that
   echo the token.
Every output of parts 3 and 4 (and of the fuzzers) is scanned for the secrets in play. Exit 1 when any
count that must be zero is not.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
for folder in ("qa", "engine", "publish", ""):
    sys.path.insert(0, str(TESTS / folder))

from fault_trials import BuildTrials, PublishTrials, run_trials  # noqa: E402
from fuzz_documents import LOCK_COMMANDS, YAML_COMMANDS, Sandbox, Tally, lock_documents, yaml_documents  # noqa: E402
from nginx_origin import BASIC, running_nginx  # noqa: E402

SECRETS = ("url-secret", "token-secret", "secret-in-body", "pw-secret", "sig-secret", BASIC.split(":")[1])


def kill_trials(root: Path, trials: int, seed: int) -> dict[str, int]:
    builds = run_trials(BuildTrials(root / "builds"), range(seed, seed + trials))
    with running_nginx(_fresh(root / "nginx")) as origin:
        publishes = run_trials(PublishTrials(root / "publishes", origin), range(seed, seed + trials))
    outcomes = builds + publishes
    for outcome in outcomes:
        if not outcome.survived:
            print(f"  NOT SURVIVED: {outcome}")
    outside = sum(any("outside the project" in p for p in o.after_kill + o.after_recovery) for o in outcomes)
    return {"trials": len(outcomes), "killed": sum(o.killed for o in outcomes), "outside": outside,
            "survived": sum(o.survived for o in outcomes), "not survived": sum(not o.survived for o in outcomes)}


def fuzz(examples: int, seed: int) -> Tally:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as with_seed

    sandbox, tally = Sandbox(), Tally()
    loose = settings(max_examples=examples, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))
    try:
        @with_seed(seed)
        @loose
        @given(yaml_documents())
        def yaml_inputs(text: str) -> None:
            sandbox.check("tfjs.yaml", text, YAML_COMMANDS, tally)

        @with_seed(seed)
        @loose
        @given(lock_documents(sandbox.valid_lock))
        def lock_inputs(text: str) -> None:
            sandbox.check("tfjs.lock", text, LOCK_COMMANDS, tally)

        yaml_inputs()
        lock_inputs()
    finally:
        sandbox.close()
    for problem in tally.problems:
        print(f"  FUZZ PROBLEM: {problem[:300]} ... {problem[-900:]}")
    return tally


def remote_faults(root: Path) -> dict[str, int]:
    """Each hostile-server fault once while fetching and once while pushing (the test suite's list)."""
    from hostile_server import Fault, hostile_cache
    from projects import copy_project, snapshot
    from stand_in_runs import run_build
    from test_engine_remote_faults import FAULT_DEADLINE, FETCH_FAULTS, HONEST_DEADLINE, PUSH_FAULTS, secret_url, with_remote

    from tfjs_build.engine.remote_cache import DEADLINE_ENV, TOKEN_ENV

    os.environ[TOKEN_ENV] = "token-secret"
    counts = {"scenarios": 0, "one warning": 0, "wrong outputs": 0, "secrets printed": 0, "slowest s": 0}
    template = _template(root / "template")
    reference = snapshot(_built(copy_project(template, _fresh(root / "reference"))))
    cases = [("fetch", Fault(kind, part, ("GET",))) for kind, part in FETCH_FAULTS.items()]
    cases += [("push", fault) for fault in PUSH_FAULTS]
    for i, (phase, fault) in enumerate(cases):
        with hostile_cache() as server:
            project = copy_project(template, _fresh(root / f"case{i}" / "a"))
            url = secret_url(server)
            os.environ[DEADLINE_ENV] = HONEST_DEADLINE
            if phase == "fetch":
                run_build(with_remote(project, url))
                project = copy_project(project, root / f"case{i}" / "b")
            else:
                with_remote(project, url)
            os.environ[DEADLINE_ENV] = FAULT_DEADLINE
            server.fault = fault
            err = io.StringIO()
            start = time.monotonic()
            with contextlib.redirect_stderr(err):
                summary = run_build(project)
            counts["slowest s"] = max(counts["slowest s"], round(time.monotonic() - start))
        counts["scenarios"] += 1
        counts["one warning"] += err.getvalue().count("remote cache:") == 1
        counts["wrong outputs"] += bool(summary.failed) or snapshot(project) != reference
        counts["secrets printed"] += any(secret in err.getvalue() for secret in SECRETS)
    return counts


def publish_secrets(root: Path) -> dict[str, int]:
    """Publish with secrets in the URL (dry run, -v to a real origin) and against API errors echoing the token."""
    from built_project import Project
    from github_standin import TOKEN, StandIn
    from nginx_origin import origin_yaml

    outputs = []
    with running_nginx(_fresh(root / "nginx-secrets")) as origin:
        for i, (args, url) in enumerate([
            (("--dry-run", "-v"), "http://u:pw-secret@127.0.0.1:9/m?sig=sig-secret"),
            (("-v",), origin.url.replace("http://", f"http://{BASIC}@") + "/private/x?sig=sig-secret"),
            (("-v", "--json"), origin.url.replace("http://", f"http://{BASIC}@") + "/private/y?sig=sig-secret"),
        ]):
            project = Project(_fresh(root / f"secret{i}"))
            project.write_config(origin_yaml(url), models=("alpha",))
            project.build("alpha")
            outputs.append(_captured(lambda p=project, a=args: p.publish(*a)))
    github = StandIn()
    os_env = {"RELEASE_TOKEN": TOKEN}
    try:
        for i, body in enumerate([json.dumps({"message": f"you sent Bearer {TOKEN}"}).encode(),
                                  f"<pre>Authorization: Bearer {TOKEN}</pre>".encode()]):
            project = Project(_fresh(root / f"github{i}"))
            project.write_config(f"  r:\n    type: github\n    repo: octo/models\n    api_url: {github.url}\n"
                                 "    token_env: RELEASE_TOKEN\n", models=("alpha",))
            project.build("alpha")
            github.state.fail_once = ("/repos/", 400, body)
            outputs.append(_captured(lambda p=project: p.publish(), os_env))
    finally:
        github.stop()
    secrets = (*SECRETS, TOKEN)
    return {"publishes": len(outputs), "secrets printed": sum(any(s in out for s in secrets) for out in outputs)}


def _captured(action, env: dict[str, str] | None = None) -> str:
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            action()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return out.getvalue()


def _template(root: Path) -> Path:
    from projects import DATA_FILE, age, write_pair_config

    for name, size in (("alpha", 200_000), ("beta", 50_000)):
        folder = root / "models" / name
        (folder / "variables").mkdir(parents=True)
        (folder / "saved_model.pb").write_bytes(name.encode() * 100)
        (folder / "variables" / "variables.index").write_bytes(b"index-" + name.encode())
        (folder / DATA_FILE).write_bytes(bytes(range(256)) * (size // 256))
    write_pair_config(root)
    age(root)
    return root


def _built(project: Path) -> Path:
    from stand_in_runs import run_build

    assert not run_build(project).failed
    return project


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100_000)
    parser.add_argument("--trials", type=int, default=24, help="kill -9 trials of builds, and as many of publishes")
    parser.add_argument("--examples", type=int, default=300, help="fuzzed tfjs.yaml, and as many tfjs.lock")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tfjs-hostile-"))
    started = time.monotonic()
    print(f"hostile probe, seed {args.seed}")
    try:
        kills = kill_trials(root / "kills", args.trials, args.seed)
        print(f"kill -9: {kills['trials']} trials ({kills['killed']} killed mid-run), {kills['survived']} survived "
              f"(lock, cache, outputs, origin consistent; next run recovered)")
        tally = fuzz(args.examples, args.seed)
        print(f"fuzzing: {tally.inputs} documents, {tally.runs} command runs: {tally.exit_3} exit-3s, "
              f"{tally.tracebacks} tracebacks, {tally.slow} hangs (> 20 s), {tally.outside} wrote outside the project, "
              f"{tally.secrets} printed a secret")
        remote = remote_faults(root / "remote")
        print(f"remote cache: {remote['scenarios']} hostile-server faults, {remote['one warning']} cost exactly one "
              f"warning, {remote['wrong outputs']} wrong outputs, {remote['secrets printed']} printed a secret, "
              f"slowest build {remote['slowest s']} s (deadline 2 s per request)")
        published = publish_secrets(root / "publish")
        print(f"publish: {published['publishes']} runs with secrets in play, {published['secrets printed']} printed one")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    zeros = (kills["not survived"], tally.exit_3, tally.tracebacks, tally.slow, tally.outside, tally.secrets,
             remote["scenarios"] - remote["one warning"], remote["wrong outputs"], remote["secrets printed"],
             published["secrets printed"])
    print(f"total: exit-3s {tally.exit_3}, hangs {tally.slow}, secrets printed "
          f"{tally.secrets + remote['secrets printed'] + published['secrets printed']}, files written outside "
          f"the project {tally.outside + kills['outside']}; {time.monotonic() - started:.0f} s")
    return 1 if any(zeros) else 0


if __name__ == "__main__":
    sys.exit(main())
