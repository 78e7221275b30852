"""The HTML report: values, escaping of hostile names, self-contained (no external URLs, CSP),
both languages, and a headless Chromium screenshot that is not blank."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import html5lib
import pytest
from _report_data import hostile_result

from custinv.analytics.actions import action
from custinv.render.html import render_html
from custinv.stocktake import AuditResult

NS = "{http://www.w3.org/1999/xhtml}"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    return hostile_result(tmp_path_factory.mktemp("book"))


@pytest.fixture(scope="module")
def page(result: AuditResult) -> str:
    return render_html(result, lang="en", pii="mask")


def _tree(text: str):  # noqa: ANN202 - an ElementTree element
    return html5lib.parse(text, namespaceHTMLElements=True)


def _text(el) -> str:  # noqa: ANN001
    return "".join(el.itertext())


def test_kpi_cards_show_the_stocktake(result: AuditResult, page: str) -> None:
    tree = _tree(page)
    cards = {c.get("data-kpi"): c for c in tree.iter(f"{NS}div") if c.get("class") == "card" and c.get("data-kpi")}
    kpis = result.stocktake.kpis
    assert kpis is not None
    assert _text(cards["customers"]).split() [1] == "8" == str(kpis.customers)
    assert f"{kpis.orders}" in _text(cards["orders"])
    assert f"{kpis.repeat_purchase_rate * 100:.1f}%" in _text(cards["repeat_purchase_rate"])
    # vs last period: an arrow and the two period values
    latest, previous = [p for p in result.stocktake.kpis_by_period or [] if not p.partial][-2:][::-1]
    change = (latest.revenue - previous.revenue) / previous.revenue
    arrow = "▲" if change > 0 else "▼"
    assert f"{arrow} {abs(change) * 100:.1f}%" in _text(cards["revenue"])
    assert f"{latest.revenue:,.2f} vs {previous.revenue:,.2f}" in _text(cards["revenue"])
    machine = json.loads(_text(tree.find(f".//{NS}script[@id='stocktake-summary']")))
    assert machine["kpis"]["customers"] == 8 and machine["kpis"]["revenue"] == pytest.approx(kpis.revenue)


def test_hostile_names_render_as_text(page: str) -> None:
    tree = _tree(page)
    scripts = list(tree.iter(f"{NS}script"))
    assert [s.get("type") for s in scripts] == ["application/json"]
    body = _text(tree.find(f"{NS}body"))
    assert "<script>alert(1)</script>" in body
    assert "{{7*7}}" in body
    assert "<b>East</b>" in body and not list(tree.iter(f"{NS}b"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "j***@example.com" in body and "jane.doe@example.com" not in page
    assert "138****5678" in body and "13812345678" not in page


def test_self_contained_and_locked_down(page: str) -> None:
    tree = _tree(page)
    metas = [m for m in tree.iter(f"{NS}meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1 and "default-src 'none'" in metas[0].get("content")
    for el in tree.iter():
        for attr, value in el.attrib.items():
            if attr.split("}")[-1] in ("src", "href", "action", "srcset", "data", "poster"):
                pytest.fail(f"external reference {attr}={value!r}")
    assert "url(" not in page and "@import" not in page
    assert not list(tree.iter(f"{NS}link"))
    assert len(list(tree.iter("{http://www.w3.org/2000/svg}svg"))) >= 6
    for section in ("kpis", "base", "rfm", "frequency", "cohorts", "trends", "clv", "churn", "breakdowns", "quality"):
        assert tree.find(f".//{NS}section[@id='{section}']") is not None, section


def test_chinese_report(result: AuditResult) -> None:
    page = render_html(result, lang="zh")
    tree = _tree(page)
    assert tree.get("lang") == "zh-CN"
    body = _text(tree.find(f"{NS}body"))
    assert "客户盘点报告" in body and "关键指标" in body and "RFM 分群图" in body
    segment = result.stocktake.rfm.segments[0].segment if result.stocktake.rfm else "champions"
    wanted = action(segment, "zh")
    assert wanted is None or wanted in body
    assert "Noto Sans CJK SC" in page and "Key figures" not in body


def _png_pixels(path: Path) -> tuple[int, int, bytes]:
    """Decode an 8-bit RGB(A) PNG's raw scanlines (enough to tell a blank page from a report)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    height = depth = ctype = 0
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    assert depth == 8 and ctype in (2, 6)
    return width, height, zlib.decompress(idat)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)")
def test_chromium_screenshot_is_not_blank(result: AuditResult, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    html.write_text(render_html(result, lang="en"), encoding="utf-8")
    png = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
             "--hide-scrollbars", "--window-size=1200,1600", f"--screenshot={png}", html.as_uri()],
            capture_output=True, text=True, timeout=120,
        )
    assert png.exists(), proc.stderr[-2000:]
    width, height, raw = _png_pixels(png)
    assert (width, height) == (1200, 1600)
    # a blank page is one colour; the report has text, cards and charts in many
    sample = raw[:: 97]
    assert len(set(sample)) > 40
    assert sum(1 for b in sample if b < 128) > len(sample) // 100
