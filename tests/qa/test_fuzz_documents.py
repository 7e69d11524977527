"""Property-based fuzzing of tfjs.yaml and tfjs.lock through the real CLI: any document gives exit 0, 1 or 2,
never 3, never a traceback, and nothing is written outside the project (strategies: fuzz_documents.py).

Derandomized with bounded example counts, so CI tries the same inputs every run; bench/hostile.py runs
more of them with fresh randomness and prints the counts. The time bound is pytest-timeout's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fuzz_documents import LOCK_COMMANDS, YAML_COMMANDS, Sandbox, Tally, lock_documents, yaml_documents
from hypothesis import HealthCheck, given, settings

FUZZ = settings(derandomize=True, max_examples=200, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SANDBOX = Sandbox()


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    SANDBOX.close()


@pytest.mark.timeout(600)
@FUZZ
@given(yaml_documents())
def test_any_tfjs_yaml_is_exit_0_1_or_2(text: str) -> None:
    assert SANDBOX.check("tfjs.yaml", text, YAML_COMMANDS, Tally()) == []


@pytest.mark.timeout(600)
@FUZZ
@given(lock_documents(SANDBOX.valid_lock))
def test_any_tfjs_lock_is_exit_0_1_or_2(text: str) -> None:
    assert SANDBOX.check("tfjs.lock", text, LOCK_COMMANDS, Tally()) == []
