"""Splitting stale models over CI runners (engine/shards.py), and plan --shards / build --shard through the CLI.

The builds use the stand-in converter (tests/engine/stand_in_converter.py): the split does
not depend on what a converter does, only on which models are stale and what they cost.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from projects import mixed_project
from stand_in_runs import run_build, stand_in_cli

from tfjs_build.engine.lockfile import read_lock
from tfjs_build.engine.shards import ShardSpec, balance, model_costs, parse_shard, shard_of, split


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


def test_costs_come_from_the_lock_then_input_bytes_then_the_mean() -> None:
    class Entry:
        def __init__(self, cost: int | None) -> None:
            self.cost = cost

    rows = [("locked", Entry(900), 10), ("old-lock", Entry(None), 300), ("new", None, 100), ("url", None, 0)]
    assert model_costs(rows) == [("locked", 900), ("old-lock", 300), ("new", 100), ("url", 433)]


def test_plan_shards_and_build_shard_agree_and_the_lock_records_input_bytes(tmp_path: Path, conversions) -> None:
    root = tmp_path / "p"
    mixed_project(root)
    plan = stand_in_cli(root, "plan", "--json", "--shards", "3")
    assert plan.returncode == 0, plan.stderr
    rows = json.loads(plan.stdout)["include"]
    # LPT on the source bytes: 90k | 60k | 40k, then 20k -> 40k's shard (60k), 5k -> the lower of two 60k, 1k.
    assert rows == [{"shard": "1/3", "models": ["m1"]}, {"shard": "2/3", "models": ["m0", "m3"]},
                    {"shard": "3/3", "models": ["m2", "m4", "m5"]}]
    result = stand_in_cli(root, "build", "--shard", "2/3", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["built"] == ["m0", "m3"] and sorted(conversions()) == ["m0", "m3"]
    lock = read_lock(root / "tfjs.lock")
    assert {name: entry.cost for name, entry in lock.models.items()} == {"m0": 5000, "m3": 60_000}
    # The lock's cost wins over the bytes now: m3 shrinks to 10 bytes but is costed 60k until it is built
    # again (costed 10, the split would be [m1], [m2, m3, m4, m5]).
    (root / "models/m3/model.pb").write_bytes(b"x" * 10)
    rows = json.loads(stand_in_cli(root, "plan", "--json", "--shards", "2").stdout)["include"]
    assert rows == [{"shard": "1/2", "models": ["m1", "m2"]}, {"shard": "2/2", "models": ["m3", "m4", "m5"]}]


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
