"""CSV import of purchases: REST (`text/csv`) and `soleflip stock import`, dry runs, refusals,
idempotency on external_id."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from soleflip.common.settings import Settings
from tests.integration.orders.conftest import WRITER_TOKEN, Rest

HEADER = (
    "external_id,sku,size,size_type,quantity,unit_cost,currency,vat_rate_pct,inbound_shipping,"
    "purchased_at,supplier,received\n"
)
CSV = HEADER + (
    "po-1,DD1391-100,10,us m,2,119.00,EUR,19,5.00,2026-01-10T10:00:00Z,Nike SNKRS,true\n"
    "po-2,CW2288-111,9.5,us m,,80,EUR,,,2026-01-11T10:00:00Z,Zalando,false\n"
    "po-3,DD1391-100,11,us m,1,-5,EUR,,,2026-01-12T10:00:00Z,Nike SNKRS,\n"
    "po-1,DD1391-100,10,us m,1,119.00,EUR,,,2026-01-10T10:00:00Z,Nike SNKRS,\n"
    "po-4,DD1391-100,12,us m,1,100,EUR,,,not-a-date,Nike SNKRS,\n"
    "po-5,DD1391-100,12,us m,1,100,EUR,,,2026-01-12T10:00:00Z,Nike SNKRS,\n"
)


async def _import(rest: Rest, body: str, query: str = "") -> dict[str, object]:
    response = await rest.call(
        "POST", f"/api/v1/stock/import{query}", content=body, headers={"content-type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    report: dict[str, object] = response.json()
    return report


async def _units(rest: Rest) -> int:
    async with rest.service.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM stock_item"))


async def test_a_dry_run_reports_and_records_nothing_then_the_import_is_idempotent(
    rest: Rest,
) -> None:
    dry = await _import(rest, CSV, "?dry_run=true")
    assert (dry["dry_run"], dry["rows"], dry["recorded"], dry["units"]) == (True, 6, 3, 4)
    refused = {(r["line"], r["external_id"]): r["reason"] for r in dry["refused"]}  # type: ignore[attr-defined]
    assert set(refused) == {(4, "po-3"), (5, "po-1"), (6, "po-4")}
    assert "amount" in refused[(4, "po-3")]
    assert "earlier in this file" in refused[(5, "po-1")]
    assert await _units(rest) == 0
    done = await _import(rest, CSV)
    assert (done["recorded"], done["units"]) == (3, 4)
    assert await _units(rest) == 4
    again = await _import(rest, CSV)
    assert (again["recorded"], again["units"], sorted(again["skipped"])) == (  # type: ignore[arg-type]
        0,
        0,
        ["po-1", "po-2", "po-5"],
    )
    assert await _units(rest) == 4
    page = (await rest.call("GET", "/api/v1/stock?sku=CW2288-111")).json()["items"]
    assert page[0]["status"] == "ORDERED"  # received=false
    [first, *_] = (await rest.call("GET", "/api/v1/stock?sku=DD1391-100")).json()["items"]
    assert first["landed_cost"] == {"amount": "124.00", "currency": "EUR"}  # 119 + 5
    assert first["vat_amount"] == {"amount": "19.00", "currency": "EUR"}
    history = (await rest.call("GET", f"/api/v1/stock/{first['id']}")).json()["history"]
    assert (history[0]["source"], history[0]["actor"]) == ("import", "writer")


async def test_an_import_refuses_bad_files_with_4xx(rest: Rest) -> None:
    json_body = await rest.call("POST", "/api/v1/stock/import", json={"rows": []})
    assert json_body.status_code == 415
    for body in ("sku,size\nDD1391-100,10\n", HEADER + "a\u0000,b\n"):
        response = await rest.call(
            "POST", "/api/v1/stock/import", content=body, headers={"content-type": "text/csv"}
        )
        assert response.status_code == 422, response.text
    assert await _units(rest) == 0


async def test_soleflip_stock_import_prints_the_report(
    tmp_path: Path, orders_settings: Settings
) -> None:
    path = tmp_path / "purchases.csv"
    path.write_text(CSV)
    env = os.environ | {"SOLEFLIP_DATABASE_URL": orders_settings.database_url}
    soleflip = str(Path(sys.executable).parent / "soleflip")

    async def run(*extra: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            soleflip, "stock", "import", str(path), *extra, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        return process.returncode or 0, out.decode()

    code, out = await run("--dry-run")
    assert code == 1, out  # rows were refused
    assert "would record 3 purchases (4 units)" in out
    assert "refused line 4 (po-3)" in out
    code, out = await run()
    assert "recorded 3 purchases (4 units)" in out
    code, out = await run()
    assert "recorded 0 purchases (0 units); 3 already recorded" in out


async def test_a_streamed_import_reports_progress_per_chunk_then_its_report(rest: Rest) -> None:
    rows = [
        f"bulk-{i},DD1391-100,10,us m,1,50,EUR,,,2026-01-10T10:00:00Z,Bulk,true\n"
        for i in range(1_200)
    ]
    headers = {
        "Authorization": f"Bearer {WRITER_TOKEN}",
        "content-type": "text/csv",
        "accept": "application/x-ndjson",
    }
    body = HEADER + "".join(rows)
    async with rest.client.stream(
        "POST", "/api/v1/stock/import", content=body, headers=headers
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) async for line in answer.aiter_lines() if line]
    assert lines[:-1] == [{"done": n, "of": 1_200} for n in (500, 1_000, 1_200)]
    report = lines[-1]["report"]
    assert (report["rows"], report["recorded"], report["units"]) == (1_200, 1_200, 1_200)
    assert await _units(rest) == 1_200


async def test_a_streamed_import_of_a_refused_file_is_still_a_problem(rest: Rest) -> None:
    answer = await rest.call(
        "POST",
        "/api/v1/stock/import",
        content="sku,size\nDD1391-100,10\n",
        headers={"content-type": "text/csv", "accept": "application/x-ndjson"},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
