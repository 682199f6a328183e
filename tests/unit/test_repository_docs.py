"""The repository holds the product only: no paths of one machine, ADRs numbered without a gap,
and every document a file cites as `docs/<name>.md` present in the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A developer's or this machine's checkout; container paths such as /root/.cache are fine.
MACHINE_PATH = re.compile(r"(?<![\w.-])/(?:work|home/[\w.-]+|Users/[\w.-]+)/")
DOCS_CITATION = re.compile(r"\bdocs/([\w-]+(?:/[\w-]+)*\.md)")
ADR_NAME = re.compile(r"^(\d{4})-[a-z0-9-]+\.md$")


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    files = [ROOT / name.decode() for name in names if name and not name.endswith(b"uv.lock")]
    return [path for path in files if path.is_file() and b"\0" not in path.read_bytes()[:4096]]


def test_no_tracked_file_names_a_path_of_one_machine() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _tracked_text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if MACHINE_PATH.search(line)
    ]
    assert hits == []


def test_every_cited_docs_file_exists() -> None:
    missing = {
        f"{path.relative_to(ROOT)} cites docs/{cited}"
        for path in _tracked_text_files()
        for cited in DOCS_CITATION.findall(path.read_text(errors="replace"))
        if not (ROOT / "docs" / cited).is_file()
    }
    assert missing == set()


def test_adrs_are_numbered_from_one_without_a_gap_and_all_listed() -> None:
    adr_dir = ROOT / "docs" / "adr"
    names = sorted(p.name for p in adr_dir.glob("*.md") if p.name != "README.md")
    numbers = [int(m.group(1)) for name in names if (m := ADR_NAME.match(name))]
    assert len(numbers) == len(names), names
    assert numbers == list(range(1, len(names) + 1))
    index = (adr_dir / "README.md").read_text()
    assert [name for name in names if f"]({name})" not in index] == []
