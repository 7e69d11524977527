"""QA fixtures: real small or read-only file systems (tmpfs), so ENOSPC and EROFS come from the kernel."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class Tmpfs:
    """Mounts tmpfs file systems below a test's folder; each is unmounted after the test."""

    def __init__(self, parent: Path) -> None:
        self.parent = parent
        self.mounts: list[Path] = []

    def mount(self, size: str) -> Path:
        """A fresh tmpfs of ``size`` (e.g. "2m"); skips the test where mounting is not allowed (it needs root)."""
        point = self.parent / f"disk{len(self.mounts)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
        self.mounts.append(point)
        return point

    @staticmethod
    def read_only(point: Path) -> None:
        """Every write below ``point`` fails with EROFS from now on, even for root (whom chmod does not stop)."""
        subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    mounts = Tmpfs(tmp_path)
    yield mounts
    for point in mounts.mounts:
        subprocess.run(["umount", str(point)], check=True)
