"""Real builds (TensorFlow in the workers) on a broken cache folder and on a full disk: clear messages,
nothing built is lost, the previous outputs and tfjs.lock survive. Then kill -9 at seeded random moments of
builds (stand-in converter) and of publishes (real nginx): fault_trials.py says what is checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_trials import BuildTrials, PublishTrials
from kill_at_point import POINTS
from nginx_origin import running_nginx
from projects import quickstart, snapshot
from qa_cli import assert_user_error, tfjs_build

from tfjs_build.engine.lockfile import LOCK_NAME


@pytest.mark.slow
def test_a_cache_that_cannot_be_written_does_not_lose_the_build(tmp_path: Path) -> None:
    project = quickstart(tmp_path, "cache: {dir: cache}\n")
    (project / "cache").write_text("a file where the cache folder goes", encoding="utf-8")
    run = tfjs_build(project, "build")
    assert run.code == 0, run.err
    assert "warning: digits-layers: built, but not stored in the cache: " in run.err
    assert "a file stands where tfjs-build needs a folder" in run.err
    assert (project / "dist" / "digits-layers" / "model.json").is_file()
    assert "digits-layers" in (project / LOCK_NAME).read_text(encoding="utf-8")


@pytest.mark.slow
def test_full_disk_keeps_previous_outputs_and_lock(tmpfs) -> None:
    small_disk = tmpfs.mount("2m")  # a real 2 MiB file system, so a full disk is the kernel's ENOSPC
    project = quickstart(small_disk / "project")
    assert tfjs_build(project, "build").code == 0
    before = snapshot(project, "dist")
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # fill the disk to the last block
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    run = tfjs_build(project, "build", "--force")
    assert_user_error(run, "No space left on device; free some disk space and run it again")
    assert snapshot(project, "dist") == before


@pytest.fixture(scope="module")
def build_trials(tmp_path_factory: pytest.TempPathFactory) -> BuildTrials:
    return BuildTrials(tmp_path_factory.mktemp("build-trials"))


@pytest.fixture(scope="module")
def publish_trials(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PublishTrials]:
    with running_nginx(tmp_path_factory.mktemp("nginx")) as origin:
        yield PublishTrials(tmp_path_factory.mktemp("publish-trials"), origin)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", range(12))
def test_kill_9_at_a_random_moment_of_a_build(build_trials: BuildTrials, seed: int) -> None:
    outcome = build_trials.trial(seed)
    assert (outcome.after_kill, outcome.after_recovery) == ([], []), outcome


@pytest.mark.timeout(300)
@pytest.mark.parametrize("seed", range(12))
def test_kill_9_at_a_random_moment_of_a_publish(publish_trials: PublishTrials, seed: int) -> None:
    outcome = publish_trials.trial(seed)
    assert (outcome.after_kill, outcome.after_recovery) == ([], []), outcome


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("point", "kind"), [(point, kind) for point in POINTS for kind in ("fresh", "rebuild", "restore")
                                             if kind != "restore" or "cache" not in point])  # a restore writes no cache
def test_kill_9_at_every_named_point_of_a_build(build_trials: BuildTrials, point: str, kind: str) -> None:
    outcome = build_trials.point_trial(point, kind)
    assert outcome.killed, f"the build never reached {point}"
    assert (outcome.after_kill, outcome.after_recovery) == ([], []), outcome
