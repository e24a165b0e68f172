"""Real data for the data tests: ``real_file("ptb/ptb.train.txt")`` is the file under
``RNNKIT_DATA_DIR`` (the shared/data layout), or skips the test saying what is missing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def real_file():
    def need(relative: str) -> Path:
        root = os.environ.get("RNNKIT_DATA_DIR", "")
        if not root:
            pytest.skip("RNNKIT_DATA_DIR is not set; point it at shared/data to run this test")
        path = Path(root) / relative
        if not path.is_file():
            pytest.skip(f"RNNKIT_DATA_DIR has no {relative} (looked for {path})")
        return path

    return need
