"""The measured tables the converter consults (op_support, fusion_support, op_defects) are part of every
model fingerprint: a regenerated table makes models stale without a CONVERTER_VERSION bump."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tfjs_build.config import load_config
from tfjs_build.engine import fingerprint as fp

CHECKS = Path(fp.__file__).resolve().parents[1] / "checks"


@pytest.fixture
def tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the packaged tables that ``converter_tables`` reads instead (a stand-in package folder)."""
    folder = tmp_path / "checks"
    folder.mkdir()
    for name in fp.CONVERTER_TABLES:
        shutil.copyfile(CHECKS / name, folder / name)
    monkeypatch.setattr(fp, "table_bytes", lambda name: (folder / name).read_bytes())
    fp.converter_tables.cache_clear()
    yield folder
    fp.converter_tables.cache_clear()


def _fingerprint(tmp_path: Path) -> str:
    (tmp_path / "m.keras").write_bytes(b"")  # never read: the fingerprint takes its digest as given
    (tmp_path / "tfjs.yaml").write_text("version: 1\nmodels:\n  m:\n    source: m.keras\n", encoding="utf-8")
    return fp.fingerprint(load_config(tmp_path / "tfjs.yaml").model("m"), {"source": "0" * 64})


@pytest.mark.parametrize("name", fp.CONVERTER_TABLES)
def test_a_regenerated_table_changes_the_fingerprint(tables: Path, tmp_path: Path, name: str) -> None:
    before = _fingerprint(tmp_path)
    assert fp.converter_tables() == _packaged_digest()  # the copy is byte-identical
    (tables / name).write_bytes((tables / name).read_bytes().replace(b"4.22.0", b"4.23.0"))
    fp.converter_tables.cache_clear()
    assert _fingerprint(tmp_path) != before


def _packaged_digest() -> str:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fp, "table_bytes", lambda name: (CHECKS / name).read_bytes())
        fp.converter_tables.cache_clear()
        digest = fp.converter_tables()
    fp.converter_tables.cache_clear()
    return digest
