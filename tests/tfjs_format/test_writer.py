"""The shard writer: layout, every dtype TF.js decodes, narrowing, streaming and model.json."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from tfjs_build.convert.result import DtypeBytes
from tfjs_build.errors import TfjsBuildError, UnsupportedModelError
from tfjs_build.tfjs_format.weights import read_weights, write_model_json, write_weights

from .decoder import decode, weights_by_shard

RNG = np.random.default_rng(3)


def _name(data: bytes) -> str:
    return f"w-{hashlib.sha256(data).hexdigest()[:16]}.bin"


def test_shards_hold_whole_weights_and_are_named_by_content(tmp_path: Path) -> None:
    a = RNG.standard_normal((5, 3)).astype(np.float32)  # 60 bytes
    b = np.arange(7, dtype=np.int32)  # 28 bytes: does not fit after a in 64
    c = RNG.standard_normal(5).astype(np.float32)  # 20 bytes: fits after b
    big = RNG.standard_normal(25).astype(np.float32)  # 100 bytes: split, in shards of its own
    d = np.ones(2, np.float32)  # 8 bytes: starts after big's last piece
    written = write_weights([[("a", a), ("b", b), ("c", c), ("big", big), ("d", d)]], tmp_path, shard_size=64)
    parts = [a.tobytes(), b.tobytes() + c.tobytes(), big.tobytes()[:64], big.tobytes()[64:], d.tobytes()]
    paths = written.manifest[0]["paths"]
    assert paths == [_name(part) for part in parts]
    assert [(tmp_path / p).read_bytes() for p in paths] == parts
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(paths)  # no temporary files left


def test_changing_one_weight_rewrites_only_its_shards(tmp_path: Path) -> None:
    weights = {f"layer{i}/kernel": RNG.standard_normal(5 + i).astype(np.float32) for i in range(8)}
    weights["layer3/kernel"] = RNG.standard_normal(40).astype(np.float32)  # 160 bytes: two shards of its own
    before = write_weights([list(weights.items())], tmp_path / "before", shard_size=100).manifest
    weights["layer3/kernel"] = weights["layer3/kernel"] * 2
    weights["layer6/kernel"] = weights["layer6/kernel"] + 1
    after = write_weights([list(weights.items())], tmp_path / "after", shard_size=100).manifest
    holders = weights_by_shard(tmp_path / "after", after)
    assert list(holders.values()) == list(weights_by_shard(tmp_path / "before", before).values())  # same cuts
    changed = [path for path in after[0]["paths"] if path not in before[0]["paths"]]
    assert changed == [path for path in after[0]["paths"] if {"layer3/kernel", "layer6/kernel"} & set(holders[path])]
    assert [holders[path] for path in changed] == [["layer3/kernel"], ["layer3/kernel"],
                                                   ["layer6/kernel", "layer7/kernel"]]
    assert len(after[0]["paths"]) == 5


def test_equal_shards_share_one_file(tmp_path: Path) -> None:
    zeros = np.zeros(16, np.float32)
    written = write_weights([[("x/bias", zeros)], [("y/bias", zeros.copy())]], tmp_path, shard_size=1024)
    assert written.manifest[0]["paths"] == written.manifest[1]["paths"] == [_name(zeros.tobytes())]
    assert len(list(tmp_path.iterdir())) == 1
    assert decode(tmp_path, written.manifest)["y/bias"].tolist() == [0.0] * 16


def test_each_group_is_one_manifest_entry_with_its_own_shards(tmp_path: Path) -> None:
    groups = [[("x/kernel", np.ones((2, 2), np.float32))], [("y/bias", np.zeros(3, np.float32))], []]
    written = write_weights(groups, tmp_path, shard_size=1024)
    assert written.manifest == [
        {"paths": [_name(np.ones(4, "<f4").tobytes())],
         "weights": [{"name": "x/kernel", "shape": [2, 2], "dtype": "float32"}]},
        {"paths": [_name(np.zeros(3, "<f4").tobytes())],
         "weights": [{"name": "y/bias", "shape": [3], "dtype": "float32"}]},
        {"paths": [], "weights": []},
    ]
    assert [(w.name, w.group, w.nbytes) for w in written.weights] == [("x/kernel", "x", 16), ("y/bias", "y", 12)]


def test_every_dtype_decodes_as_tfjs_reads_it(tmp_path: Path) -> None:
    source = {
        "f32": RNG.standard_normal((2, 3)).astype(np.float32),
        "f64": RNG.standard_normal(4),
        "f16": RNG.standard_normal(3).astype(np.float16),
        "i64": np.array([[-(2**31), 2**31 - 1], [0, 5]], np.int64),
        "u8": np.array([0, 200, 255], np.uint8),
        "i8": np.array([-128, 127], np.int8),
        "u32": np.array([7, 2**31 - 1], np.uint32),
        "flags": np.array([True, False, True]),
        "c64": np.array([1 + 2j, -3.5 - 0.25j], np.complex64),
        "c128": np.array([[0.5 - 1j]], np.complex128),
        "big_endian": np.array([1.5, -2.25], ">f4"),
        "scalar": np.float32(3.0),
        "empty": np.zeros((0, 4), np.float32),
        "strided": np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2],
    }
    written = write_weights([list(source.items())], tmp_path, shard_size=13)
    specs = {w["name"]: w for w in written.manifest[0]["weights"]}
    expected_dtypes = {
        "f32": "float32", "f64": "float32", "f16": "float32", "i64": "int32", "u8": "int32", "i8": "int32",
        "u32": "int32", "flags": "bool", "c64": "complex64", "c128": "complex64", "big_endian": "float32",
        "scalar": "float32", "empty": "float32", "strided": "float32",
    }
    assert {name: spec["dtype"] for name, spec in specs.items()} == expected_dtypes
    assert specs["scalar"]["shape"] == [] and specs["empty"]["shape"] == [0, 4]
    decoded = decode(tmp_path, written.manifest)
    for name, value in source.items():
        want = np.asarray(value)
        got = decoded[name]
        assert got.shape == want.shape, name
        if expected_dtypes[name] == "bool":
            np.testing.assert_array_equal(got.astype(bool), want)
        else:
            np.testing.assert_array_equal(got, want.astype(got.dtype), err_msg=name)
    assert np.frombuffer((tmp_path / written.manifest[0]["paths"][0]).read_bytes()[:4], "<f4")[0] == source["f32"][0, 0]
    assert written.quantization["int32"] == DtypeBytes(before=4 * 11, after=4 * 11)  # i64 4 + u8 3 + i8 2 + u32 2


def test_strings_are_length_prefixed_utf8(tmp_path: Path) -> None:
    words = np.array([["héllo", ""], ["日本", "a"]], dtype=object)
    raw = np.array([b"\x00\xff", b"xyz"], dtype=object)
    fixed = np.array(["ab", "c"])  # numpy unicode dtype
    written = write_weights([[("words", words), ("raw", raw), ("fixed", fixed)]], tmp_path, shard_size=5)
    blob = b"".join((tmp_path / p).read_bytes() for p in written.manifest[0]["paths"])
    expected = b"".join(len(b).to_bytes(4, "little") + b for b in
                        [w.encode() for w in words.reshape(-1)] + list(raw) + [b"ab", b"c"])
    assert blob == expected
    assert [w["dtype"] for w in written.manifest[0]["weights"]] == ["string"] * 3
    decoded = decode(tmp_path, written.manifest)
    assert decoded["words"] == [w.encode() for w in words.reshape(-1)]
    assert written.weights[0].nbytes == 4 * 4 + len("héllo".encode()) + len("日本".encode()) + 1


def test_int64_outside_int32_is_an_error_naming_the_weight(tmp_path: Path) -> None:
    with pytest.raises(TfjsBuildError, match=r"weight 'table/ids' \(int64\) holds values from 0 to 2147483648"):
        write_weights([[("table/ids", np.array([0, 2**31], np.int64))]], tmp_path, shard_size=64)
    with pytest.raises(TfjsBuildError, match="weight 'neg'"):
        write_weights([[("ok", np.ones(40, np.float32)), ("neg", np.array([-(2**31) - 1], np.int64))]],
                      tmp_path, shard_size=64)
    assert list(tmp_path.iterdir()) == []  # no shard of the failed group left behind


def test_unstorable_dtype_and_string_contents_are_errors(tmp_path: Path) -> None:
    with pytest.raises(TfjsBuildError, match="weight 'when' has dtype datetime64"):
        write_weights([[("when", np.array(["2020-01-01"], "datetime64[D]"))]], tmp_path, shard_size=64)
    with pytest.raises(TfjsBuildError, match="weight 'mixed' is a string tensor holding a int"):
        write_weights([[("mixed", np.array(["a", 3], dtype=object))]], tmp_path, shard_size=64)


def test_duplicate_names_are_rejected(tmp_path: Path) -> None:
    one = np.ones(2, np.float32)
    with pytest.raises(ValueError, match="duplicate weight name 'w'"):
        write_weights([[("w", one)], [("w", one)]], tmp_path, shard_size=64)


def test_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    groups = [[("k", RNG.standard_normal((30, 30)).astype(np.float32)), ("s", np.array(["x"], object))]]
    outputs = []
    for run in ("one", "two"):
        written = write_weights(groups, tmp_path / run, shard_size=1000, quantize={"k": "uint8"})
        write_model_json(tmp_path / run, {"format": "graph-model", "weightsManifest": written.manifest})
        outputs.append({p.name: p.read_bytes() for p in sorted((tmp_path / run).iterdir())})
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 2


def test_groups_are_consumed_lazily_and_peak_memory_stays_near_one_weight(tmp_path: Path) -> None:
    size = 4 * 1024 * 1024  # 16 MiB per float32 weight, 64 MiB for the model

    def weights():
        for i in range(4):
            kernel = np.arange(size, dtype=np.float32)
            kernel -= size / 2
            kernel *= (i + 0.5) / size
            yield f"layer{i}/kernel", kernel
            del kernel

    tracemalloc.start()
    try:
        written = write_weights([weights()], tmp_path, shard_size=4 * 1024 * 1024,
                                quantize={"layer1/kernel": "uint8", "layer2/kernel": "float16"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.25 * size * 4, f"peak {peak / 2**20:.1f} MiB for 16 MiB weights"
    assert [w.dtype for w in written.weights] == ["float32", "uint8", "float16", "float32"]


def test_narrowing_float64_is_streamed(tmp_path: Path) -> None:
    big = np.linspace(-3, 3, 2 * 1024 * 1024)  # 16 MiB of float64
    tracemalloc.start()
    try:
        write_weights([[("w", big)]], tmp_path, shard_size=1 << 22)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB narrowing a 16 MiB float64 weight"


def test_read_weights_matches_the_independent_decoder(tmp_path: Path) -> None:
    groups = [[("a", RNG.standard_normal((4, 4)).astype(np.float32)), ("s", np.array(["q", "rs"], object))],
              [("b", RNG.standard_normal(9).astype(np.float32)), ("c", np.array([1 - 1j], np.complex64))]]
    written = write_weights(groups, tmp_path, shard_size=7, quantize={"a": "uint16", "b": "float16"})
    ours = dict(read_weights(tmp_path, written.manifest))
    theirs = decode(tmp_path, written.manifest)
    assert ours.keys() == theirs.keys()
    assert ours["s"].tolist() == theirs["s"]
    for name in ("a", "b", "c"):
        assert ours[name].tobytes() == theirs[name].tobytes(), name
    assert set(written.dequantized()) == {"a", "b"}


def test_model_json_is_compact_ordered_and_atomic(tmp_path: Path) -> None:
    data = {"format": "graph-model", "generatedBy": "2.x", "weightsManifest": [{"paths": [], "weights": []}],
            "userDefinedMetadata": {"labels": ["café", np.float32(0.5)], "n": np.int64(3)}}
    path = write_model_json(tmp_path, data)
    text = path.read_text("utf-8")
    assert text == ('{"format":"graph-model","generatedBy":"2.x","weightsManifest":[{"paths":[],"weights":[]}],'
                    '"userDefinedMetadata":{"labels":["café",0.5],"n":3}}')
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float32("-inf")])
def test_model_json_refuses_nan_and_infinity_naming_the_key(tmp_path: Path, bad: float) -> None:
    data = {"weightsManifest": [{"weights": [{"name": "w", "quantization": {"min": bad, "scale": 1.0}}]}]}
    with pytest.raises(TfjsBuildError, match=r"at weightsManifest\[0\]\.weights\[0\]\.quantization\.min"):
        write_model_json(tmp_path, data)
    assert not (tmp_path / "model.json").exists()


def test_errors_carry_the_callers_location(tmp_path: Path) -> None:
    where = "tfjs.yaml:4:3: models.net"
    with pytest.raises(TfjsBuildError, match=r"^tfjs.yaml:4:3: models.net: weight 'w' contains NaN"):
        write_weights([[("w", np.float32([np.nan]))]], tmp_path, shard_size=8, quantize={"w": "uint8"}, where=where)
    with pytest.raises(UnsupportedModelError, match=r"^tfjs.yaml:4:3: models.net: weight 'big' \(int64\)"):
        write_weights([[("big", np.array([2**40]))]], tmp_path, shard_size=8, where=where)
