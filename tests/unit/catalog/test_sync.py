"""`soleflip sync catalog` arguments: SKUs from flags and files, as the CLI passes them."""

from __future__ import annotations

from pathlib import Path

from soleflip.catalog.sync import _parser, read_skus, since_age_s


def test_cli_delegation_argv_parses_and_means_resume_only() -> None:
    args = _parser().parse_args(["catalog", "--since", "2026-01-01"])
    assert args.since == "2026-01-01"
    assert read_skus(args) == []


def test_skus_come_from_flags_and_a_file(tmp_path: Path) -> None:
    skus = tmp_path / "skus.txt"
    skus.write_text("DD1391-100\n\n  CP9654  \n")
    args = _parser().parse_args(["catalog", "--sku", "B75806", "--file", str(skus)])
    assert read_skus(args) == ["B75806", "DD1391-100", "CP9654"]


def test_since_is_utc_unless_it_names_its_zone() -> None:
    naive, zoned = since_age_s("2026-01-01T00:00:00"), since_age_s("2026-01-01T00:00:00+02:00")
    assert 7199 < zoned - naive < 7201  # midnight at +02:00 came two hours before UTC's
