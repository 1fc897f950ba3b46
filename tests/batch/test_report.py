"""The audit report, opened in headless Chromium: the sections are there with this file's
figures, and the page asks for nothing over the network."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from therabill.batch.pipeline import plan_outputs, run
from therabill.batch.report import ReportData, write_report

ROOT = Path(__file__).resolve().parents[2]
CLINIC = ROOT / "examples" / "clinic-month.csv"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("report")
    data = ReportData()
    summary = run([CLINIC], plan_outputs(out / "tables"), workers=1, sink=data.add)
    write_report(out / "report.html", data, summary)
    return out / "report.html", out / "tables"


def dump_dom(path: Path) -> str:
    done = subprocess.run([CHROMIUM, *FLAGS, "--dump-dom", path.as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_report_opens_in_chromium_with_every_section(report: tuple[Path, Path]) -> None:
    page, tables = report
    dom = dump_dom(page)
    lines = pl.read_parquet(tables / "lines.parquet")
    assert "<h1>Claims file audit: clinic-month.csv</h1>" in dom
    for section in ("volume", "units", "minutes", "bypass", "denials", "kx", "assistants",
                    "payers", "findings"):
        assert f'id="{section}"' in dom, section
    assert dom.count("<svg") >= 6
    # figures from this file: visits of the month, 97110 units, Medicare's expected payment
    assert "<td>2025-03</td><td class=\"num\">400</td>" in dom
    units_97110 = lines.filter(pl.col("code") == "97110", pl.col("status") != "invalid")[
        "units"].sum()
    assert f'<td class="num">{units_97110:,}</td>' in dom
    medicare = lines.filter(pl.col("payer") == "medicare")["payer_paid"].sum()
    assert f"${medicare:,.2f}" in dom
    # KX crossings name patients, 59 on 97140 is counted
    assert re.search(r"<td>P\d{6}</td><td>2025-03-\d\d", dom)
    assert "<td>59</td><td>97140</td>" in dom


def test_report_is_self_contained(report: tuple[Path, Path]) -> None:
    text = report[0].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text and "@import" not in text and "url(" not in text


def test_screenshot_renders(report: tuple[Path, Path], tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    subprocess.run([CHROMIUM, *FLAGS, "--window-size=1000,2000", f"--screenshot={shot}",
                    report[0].as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
