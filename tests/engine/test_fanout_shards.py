"""Splitting stale models over CI runners (engine/shards.py), and plan --shards / build --shard through the CLI.

The builds use the stand-in converter (tests/engine/stand_in_converter.py): the split does
not depend on what a converter does, only on which models are stale and what they cost.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from projects import MIXED_SIZES, copy_project, mixed_project
from stand_in_runs import run_build, stand_in_cli

from tfjs_build.config import load_config
from tfjs_build.engine import build as builder
from tfjs_build.engine.lockfile import read_lock, write_lock
from tfjs_build.engine.shards import (
    PER_MIB_MS,
    PER_MODEL_MS,
    PER_TENSOR_MS,
    UNBUILT_TENSORS,
    VERIFY_MS,
    Fanout,
    ShardSpec,
    balance,
    estimated_cost,
    model_costs,
    parse_shard,
    shard_of,
    split,
    verified_backends,
)


def test_parse_shard_accepts_i_of_n_and_refuses_the_rest() -> None:
    assert parse_shard("2/3") == ShardSpec(2, 3) and str(ShardSpec(2, 3)) == "2/3"
    for bad in ("0/3", "4/3", "3", "1/0", "a/b", "1/257", "-1/2", "1/3/4"):
        with pytest.raises(ValueError, match="expected I/N"):
            parse_shard(bad)


def test_split_is_longest_first_to_the_lightest_shard_with_name_tie_breaks() -> None:
    costs = [("a", 5), ("b", 7), ("c", 3), ("d", 7), ("e", 2)]
    # b and d (7, by name) open shards 1 and 2; a (5) -> 3; c (3) -> 3 (5 < 7); e (2) -> 1 (7 = 7, lowest).
    assert split(costs, 3) == [["b", "e"], ["d"], ["a", "c"]]
    assert shard_of(split(costs, 3), "c") == ShardSpec(3, 3) and shard_of(split(costs, 3), "zz") is None


def test_split_ignores_input_order_but_keeps_it_within_a_group() -> None:
    rng = random.Random(7)
    costs = [(f"m{i:02d}", rng.choice([10, 50, 200, 1000, 5000])) for i in range(30)]
    groups = split(costs, 4)
    shuffled = costs[:]
    rng.shuffle(shuffled)
    assert [sorted(g) for g in split(shuffled, 4)] == [sorted(g) for g in groups]
    assert sorted(name for g in groups for name in g) == sorted(name for name, _ in costs)
    order = [name for name, _ in costs]
    assert all(g == sorted(g, key=order.index) for g in groups)


def test_split_balances_mixed_sizes() -> None:
    rng = random.Random(11)
    costs = [(f"m{i}", int(rng.lognormvariate(15, 1.2))) for i in range(24)]
    groups = split(costs, 4)
    assert balance(costs, groups) <= 1.15
    naive = [[name for j, (name, _) in enumerate(costs) if j % 4 == i] for i in range(4)]  # round robin
    assert balance(costs, groups) < balance(costs, naive)


def test_more_shards_than_models_leaves_empty_groups() -> None:
    assert split([("a", 1), ("b", 1)], 3) == [["a"], ["b"], []]


def test_the_cost_formula_is_a_fixed_part_plus_a_part_per_mib_and_per_weight_tensor() -> None:
    assert estimated_cost(0, 0) == PER_MODEL_MS
    assert estimated_cost(3 << 20, 0) == PER_MODEL_MS + 3 * PER_MIB_MS
    assert estimated_cost(0, 7) == PER_MODEL_MS + 7 * PER_TENSOR_MS
    assert estimated_cost(1 << 20, None) == estimated_cost(1 << 20, UNBUILT_TENSORS)  # not built yet
    assert 0 < PER_MIB_MS and 0 < PER_TENSOR_MS and 0 < PER_MODEL_MS


def test_small_models_are_spread_by_count_not_packed_by_bytes() -> None:
    """At small sizes a build is mostly per-model work; bytes alone would put the largest model alone on one
    runner and the seven others (half the work, if the work is mostly fixed) on another."""
    sizes = {f"m{i}": 1024 << i for i in range(8)}  # 1 KB .. 128 KB
    groups = split(model_costs([(name, None, size, ()) for name, size in sizes.items()]), 4)
    assert sorted(len(group) for group in groups) == [2, 2, 2, 2]
    assert sorted(len(group) for group in split(list(sizes.items()), 4)) != [2, 2, 2, 2]  # what bytes did


def test_costs_come_from_the_lock_then_the_formula_on_input_bytes_then_the_mean() -> None:
    class Entry:
        def __init__(self, cost: int | None) -> None:
            self.cost = cost

    rows = [("locked", Entry(900), 10, ()), ("old-lock", Entry(None), 300, ()), ("new", None, 100, ("webgl",)),
            ("url", None, None, ())]
    costed = model_costs(rows)
    assert costed[:3] == [("locked", 900), ("old-lock", estimated_cost(300, None)),
                          ("new", estimated_cost(100, None, ("webgl",)))]
    assert costed[3] == ("url", sum(cost for _, cost in costed[:3]) // 3)


def test_a_model_verified_in_tfjs_costs_its_backends_and_gets_a_runner_to_itself(tmp_path: Path) -> None:
    """tfjs.yaml's verify runs the model in TF.js on each backend after converting (Chromium for webgl): seconds
    that dwarf a small model's conversion, so such a model is split off from the others, in the plan and in the
    lock's cost alike."""
    assert estimated_cost(0, 0, ("cpu", "webgl")) == PER_MODEL_MS + VERIFY_MS["cpu"] + VERIFY_MS["webgl"]
    root = mixed_project(tmp_path / "p", sizes=(1000,) * 4)
    config = (root / "tfjs.yaml").read_text(encoding="utf-8")
    (root / "tfjs.yaml").write_text(config.replace("  m2:\n", "  m2:\n    verify: true\n"), encoding="utf-8")
    rows = json.loads(stand_in_cli(root, "plan", "--json", "--shards", "2").stdout)["include"]
    assert [row["models"] for row in rows] == [["m2"], ["m0", "m1", "m3"]]
    settings = load_config(root / "tfjs.yaml")
    assert verified_backends(settings.model("m2")) == settings.model("m2").backends
    assert verified_backends(settings.model("m0")) == ()


def test_plan_shards_and_build_shard_agree_and_the_lock_records_the_cost(tmp_path: Path, conversions) -> None:
    root = tmp_path / "p"
    mixed_project(root)
    plan = stand_in_cli(root, "plan", "--json", "--shards", "3")
    assert plan.returncode == 0, plan.stderr
    rows = json.loads(plan.stdout)["include"]
    cold = [(f"m{i}", estimated_cost(size, None)) for i, size in enumerate(MIXED_SIZES)]  # no lock: the formula on bytes
    assert [row["models"] for row in rows] == split(cold, 3) and [row["shard"] for row in rows] == ["1/3", "2/3", "3/3"]
    result = stand_in_cli(root, "build", "--shard", "2/3", "--json")
    assert result.returncode == 0, result.stderr
    mine = split(cold, 3)[1]
    assert json.loads(result.stdout)["built"] == mine and sorted(conversions()) == mine
    lock = read_lock(root / "tfjs.lock")
    # The stand-in converter writes one weight tensor: the lock's cost knows that, the cold estimate did not.
    assert {name: entry.cost for name, entry in lock.models.items()} == {
        name: estimated_cost(MIXED_SIZES[int(name[1:])], 1) for name in mine}
    # The lock's cost wins over the estimate from the bytes now: a built model shrinks to 10 bytes but is costed
    # as built until it is built again.
    built = mine[0]
    (root / f"models/{built}/model.pb").write_bytes(b"x" * 10)
    stale = [name for name, _ in cold if name == built or name not in mine]  # tfjs.yaml order
    by_lock = split([(n, lock.models[n].cost if n == built else dict(cold)[n]) for n in stale], 2)
    by_bytes = split([(n, estimated_cost(10, None) if n == built else dict(cold)[n]) for n in stale], 2)
    assert by_lock != by_bytes  # the project is chosen so that the two differ
    rows = json.loads(stand_in_cli(root, "plan", "--json", "--shards", "2").stdout)["include"]
    assert [row["models"] for row in rows] == by_lock


def test_fanout_flags_that_make_no_sense_are_user_errors(project: Path) -> None:
    for args, said in ((("build", "--force", "--shard", "1/2"), "--force"),
                       (("build", "--shards", "2"), "--restore-only"),
                       (("build", "--shard", "3/2"), "1 <= I <= N"),
                       (("plan", "--shards", "2"), "--json"),
                       (("plan", "--json", "--shards", "999"), "at most 256")):
        result = stand_in_cli(project, *args)
        assert result.returncode == 2 and said in result.stderr, (args, result.stderr)


def test_an_ordinary_build_records_cost_and_a_rebuild_writes_the_same_bytes(project: Path) -> None:
    run_build(project)
    first = (project / "tfjs.lock").read_bytes()
    assert all(entry.cost for entry in read_lock(project / "tfjs.lock").models.values())
    run_build(project, force=True)
    assert (project / "tfjs.lock").read_bytes() == first


def test_restoring_many_models_writes_tfjs_lock_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The assemble step restores every model: one lock write in all, not one per model (each writes the whole
    lock, so n restores cost O(n^2)); the lock it writes is the one-machine build's, byte for byte."""
    root = mixed_project(tmp_path / "p")
    run_build(root)
    built = (root / "tfjs.lock").read_bytes()
    copy = copy_project(root, tmp_path / "copy")
    shutil.copytree(root / ".tfjs-build" / "cache", copy / ".tfjs-build" / "cache")
    writes: list[int] = []
    monkeypatch.setattr(builder, "write_lock", lambda path, lock: writes.append(len(lock.models)) or write_lock(path, lock))
    summary = run_build(copy, fanout=Fanout(restore_only=True))
    assert summary.restored == [f"m{i}" for i in range(len(MIXED_SIZES))] and summary.exit_code == 0
    assert writes == [len(MIXED_SIZES)] and (copy / "tfjs.lock").read_bytes() == built
