"""`make help` documents the Makefile: every target is listed with its one-line description."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_make_help_lists_every_phony_target_with_a_description() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    makefile = (ROOT / "Makefile").read_text()
    phony = set(re.search(r"^\.PHONY: (.+)$", makefile, re.MULTILINE)[1].split())  # type: ignore[index]
    done = subprocess.run(
        ["make", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    plain = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout)
    listed = {m[1]: m[2] for m in re.finditer(r"^\s+(\S+)\s+(\S.*)$", plain, re.MULTILINE)}
    assert set(listed) == phony
    assert all(len(description) > 10 for description in listed.values())
