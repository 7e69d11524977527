"""Facts of a built folder, as recorded in tfjs.lock."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

from tfjs_build.engine.output_facts import describe_output


def test_describe_output_matches_independent_measurements(tmp_path: Path) -> None:
    contents = {
        "model.json": b'{"format": "graph-model"}' * 50,
        "group1-shard1of2.bin": os.urandom(5000),
        "group1-shard2of2.bin": bytes(3000),
        "assets/vocab.txt": b"a b c\n" * 10,
    }
    for name, data in contents.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    facts = describe_output(tmp_path)
    assert [f.path for f in facts.files] == sorted(contents)
    assert {f.path: (f.size, f.sha256) for f in facts.files} == {
        name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in contents.items()
    }
    assert facts.size == sum(len(d) for d in contents.values())
    assert facts.transfer == sum(len(gzip.compress(d, 9, mtime=0)) for d in contents.values())
    assert facts.shards == 2
