"""Stale reasons, the stat cache, and fingerprints (with builds by the stand-in converter)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from projects import DATA_FILE, age, built_entry, copy_project, write_pair_config
from stand_in_runs import run_build

import tfjs_build
from tfjs_build.config import load_config
from tfjs_build.engine import fingerprint
from tfjs_build.engine.plan import current_plan
from tfjs_build.engine.stat_cache import StatCache


def reasons(root: Path) -> dict[str, list[str]]:
    return {step.model: list(step.reasons) for step in current_plan(load_config(root / "tfjs.yaml"))}


def test_new_models_then_fresh_after_build(project: Path) -> None:
    assert reasons(project) == {"alpha": ["new model"], "beta": ["new model"]}
    assert run_build(project).built == ["alpha", "beta"]
    assert reasons(project) == {"alpha": [], "beta": []}


def test_source_change_names_the_file_inside_the_saved_model(project: Path) -> None:
    run_build(project)
    (project / "models/alpha" / DATA_FILE).write_bytes(os.urandom(10))
    assert reasons(project) == {"alpha": [f"source changed: {DATA_FILE}"], "beta": []}


def test_added_and_removed_source_files(project: Path) -> None:
    run_build(project)
    (project / "models/alpha/assets").mkdir()
    (project / "models/alpha/assets/vocab.txt").write_text("a b c")
    (project / "models/beta/variables/variables.index").unlink()
    assert reasons(project) == {
        "alpha": ["source changed: assets/vocab.txt"],
        "beta": ["source changed: variables/variables.index"],
    }


def test_config_change_names_the_key(project: Path) -> None:
    run_build(project)
    write_pair_config(project, quantize="float16")
    assert reasons(project) == {"alpha": [], "beta": ["config changed: quantize"]}


def test_metadata_file_change(project: Path) -> None:
    labels = project / "labels.json"
    labels.write_text('["cat"]')
    text = (project / "tfjs.yaml").read_text()
    with_metadata = "source: models/alpha\n    metadata: {labels: labels.json}"
    (project / "tfjs.yaml").write_text(text.replace("source: models/alpha", with_metadata))
    age(project)
    run_build(project)
    labels.write_text('["dog"]')
    assert reasons(project) == {"alpha": ["metadata changed: labels"], "beta": []}


def test_output_missing_and_modified(project: Path) -> None:
    run_build(project)
    shutil.rmtree(project / "dist/tfjs/alpha")
    with open(project / "dist/tfjs/beta/group1-shard1of1.bin", "r+b") as shard:
        shard.write(b"X")  # same size, other bytes
    assert reasons(project) == {"alpha": ["output missing"], "beta": ["output modified"]}
    (project / "dist/tfjs/beta/group1-shard1of1.bin").unlink()
    assert reasons(project)["beta"] == ["output missing"]


def test_extra_file_in_output_is_a_modification(project: Path) -> None:
    run_build(project)
    (project / "dist/tfjs/alpha/stray.bin").write_bytes(b"")
    assert reasons(project)["alpha"] == ["output modified"]


def test_converter_upgrade(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_build(project)
    monkeypatch.setattr(tfjs_build, "CONVERTER_VERSION", tfjs_build.CONVERTER_VERSION + "-next")
    assert reasons(project) == {"alpha": ["converter upgraded"], "beta": ["converter upgraded"]}


def test_fingerprint_ignores_where_the_project_is(project: Path, tmp_path: Path) -> None:
    run_build(project)
    other = copy_project(project, tmp_path / "elsewhere")
    shutil.copy(project / "tfjs.lock", other / "tfjs.lock")
    shutil.copytree(project / "dist", other / "dist")
    assert reasons(other) == {"alpha": [], "beta": []}


def test_touch_keeps_model_fresh_and_rereads_only_the_touched_file(project: Path, monkeypatch) -> None:
    run_build(project)
    age(project / "dist")  # outputs written just now are "racily clean" and not cached yet
    reasons(project)  # the stat cache now knows every input and output
    hashed: list[str] = []
    real_hash = fingerprint.hash_file
    monkeypatch.setattr(fingerprint, "hash_file", lambda path: hashed.append(path.name) or real_hash(path))
    assert reasons(project) == {"alpha": [], "beta": []}
    assert hashed == []  # nothing re-read on a no-op
    os.utime(project / "models/alpha/saved_model.pb")  # mtime only, content unchanged
    assert reasons(project) == {"alpha": [], "beta": []}
    assert hashed == ["saved_model.pb"]


def old_file(folder: Path) -> Path:
    file = folder / "f"
    file.write_bytes(b"x")
    age(file)
    return file


def test_stat_cache_forgets_digests_of_another_algorithm(tmp_path: Path) -> None:
    file = old_file(tmp_path)
    with StatCache(tmp_path / "stat.sqlite", "sha256") as stats:
        stats.record(file, file.stat(), "d1")
    with StatCache(tmp_path / "stat.sqlite", "sha256") as stats:
        assert stats.lookup(file, file.stat()) == "d1"
    with StatCache(tmp_path / "stat.sqlite", "blake2b") as stats:
        assert stats.lookup(file, file.stat()) is None


def test_stat_cache_does_not_trust_racily_recent_files(tmp_path: Path) -> None:
    file = tmp_path / "f"
    file.write_bytes(b"x")  # modified now: a write within the same tick would keep its stat
    with StatCache(tmp_path / "stat.sqlite", "sha256") as stats:
        stats.record(file, file.stat(), "d1")
    with StatCache(tmp_path / "stat.sqlite", "sha256") as stats:
        assert stats.lookup(file, file.stat()) is None


def test_stat_cache_survives_a_corrupt_database(tmp_path: Path) -> None:
    (tmp_path / "stat.sqlite").write_bytes(b"not a database" * 100)
    file = old_file(tmp_path)
    with StatCache(tmp_path / "stat.sqlite", "sha256") as stats:
        stats.record(file, file.stat(), "d1")
    with StatCache(tmp_path / "stat.sqlite", "sha256") as stats:
        assert stats.lookup(file, file.stat()) == "d1"


def test_digests_match_hashlib(tmp_path: Path) -> None:
    import hashlib

    files = []
    for i, size in enumerate((0, 1, 3 << 20)):
        files.append(tmp_path / f"f{i}")
        files[-1].write_bytes(os.urandom(size))
    with StatCache(tmp_path / "stat.sqlite", "sha256") as stats:
        digests = fingerprint.stamp_and_digest_files(files, stats)[0]
    assert digests == {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_unknown_model_name_is_a_user_error_with_a_hint(project: Path) -> None:
    from tfjs_build.errors import TfjsBuildError

    with pytest.raises(TfjsBuildError, match=r"no model named 'alpah' \(did you mean 'alpha'\?\)"):
        current_plan(load_config(project / "tfjs.yaml"), names=["alpah"])


def test_url_source_is_planned_from_its_pinned_sha256_without_downloading(tmp_path: Path) -> None:
    from tfjs_build.engine.lockfile import Lock
    from tfjs_build.engine.plan import stale_reasons

    config_text = "version: 1\nmodels:\n  remote:\n    source: https://models.invalid/m.tar.gz\n    sha256: {}\n"
    (tmp_path / "tfjs.yaml").write_text(config_text.format("a" * 64))
    config = load_config(tmp_path / "tfjs.yaml")
    [step] = current_plan(config, Lock({}))  # models.invalid never resolves: no network is touched
    assert step.reasons == ("new model",) and step.inputs.digests == {"source": "a" * 64}
    model = config.models[0]
    entry = built_entry(config, "remote", {})
    (tmp_path / "tfjs.yaml").write_text(config_text.format("b" * 64))
    [step] = current_plan(load_config(tmp_path / "tfjs.yaml"), Lock({"remote": entry}))
    assert step.reasons == ("config changed: sha256", "source changed: https://models.invalid/m.tar.gz")
    assert stale_reasons(model, current_plan(config, Lock({}))[0].inputs, entry) == []
