"""Chinese is first-class: every output rendered with ``--lang zh`` — the HTML report, every
sheet of the workbook, the terminal output of ``audit`` — carries no English label.

How "English label" is found: every run of Latin letters in what a reader sees, minus what
is legitimately Latin — the data itself (every word of the input files: ids, column headers,
regions), file names, model and metric names that are the same in Chinese writing (RFM, CLV,
BG/NBD, NPS, …), units and the CLI's own flags. A word left over is a label someone forgot to
translate, and the test names it.
"""

from __future__ import annotations

import re
from pathlib import Path

import html5lib
import openpyxl
import pytest
from typer.testing import CliRunner

from custinv.cli import app
from custinv.config import Settings
from custinv.render.excel import write_excel
from custinv.render.html import render_html
from custinv.stocktake import AuditResult, audit

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ORDERS = EXAMPLES / "crm_orders_zh.csv"
ACCOUNTS = EXAMPLES / "crm_accounts_zh.csv"
TICKETS = EXAMPLES / "tickets_zh.csv"

ALLOWED = {
    # names used as they are in Chinese business writing
    "rfm", "clv", "ltv", "kpi", "nps", "csat", "sla", "crr", "nrr", "aov", "bg", "nbd", "gamma", "pareto", "mae",
    "excel", "json", "csv", "xlsx", "html", "pdf", "parquet", "utf", "bom", "gbk", "gb", "crm", "id", "vs",
    "custinv", "pp", "top", "cn8", "cn", "rfm11", "r", "f", "m", "p", "alive", "pii", "hmac", "sha",
    "mask", "hash", "show", "log", "mm", "dd", "yyyy", "sum", "max", "min", "n", "k", "x", "xls",
    "month", "quarter", "week", "year",  # period keys as the user typed them (--period)
    "quantile", "abc", "margin",  # --value-method values
    "bgnbd", "paretonbd", "historical", "auto",  # --model values
    "sans", "noto", "cjk", "sc", "pingfang", "hiragino", "microsoft", "yahei", "source", "han", "wenquanyi",
    "micro", "hei", "segoe", "ui", "roboto", "helvetica", "neue", "arial", "apple", "system", "serif",
    "schema", "version", "as", "of", "kpis", "currency", "cny", "usd", "rmb",
}


def _data_words(*files: Path) -> set[str]:
    words: set[str] = set()
    for f in files:
        words |= {w.lower() for w in re.findall(r"[A-Za-z]+", f.read_bytes().decode("gb18030", errors="replace") + f.read_bytes().decode("utf-8", errors="replace"))}
        words |= {w.lower() for w in re.findall(r"[A-Za-z]+", f.name)}
    return words


def _english(text: str, allowed: set[str]) -> set[str]:
    text = re.sub(r"--[a-z-]+", " ", text)  # CLI flags are commands, not labels
    text = re.sub(r"\b[\w.-]+\.(csv|xlsx|html|parquet|json)\b", " ", text)
    return {w for w in re.findall(r"[A-Za-z]{2,}", text) if w.lower() not in allowed}


@pytest.fixture(scope="module")
def result() -> AuditResult:
    return audit([ORDERS], Settings(customers_file=str(ACCOUNTS), tickets=str(TICKETS), clv=True, lang="zh"))


@pytest.fixture(scope="module")
def allowed() -> set[str]:
    return ALLOWED | _data_words(ORDERS, ACCOUNTS, TICKETS)


def test_html_in_chinese_has_no_english_label(result: AuditResult, allowed: set[str]) -> None:
    tree = html5lib.parse(render_html(result, lang="zh"), namespaceHTMLElements=False)
    for bad in [*tree.iter("script"), *tree.iter("style")]:
        bad.text = ""
    body = tree.find("body")
    assert body is not None
    text = " ".join(body.itertext())
    titles = " ".join(el.get("title", "") for el in tree.iter() if el.get("title"))
    assert _english(text + " " + titles, allowed) == set()


def test_workbook_in_chinese_has_no_english_label(result: AuditResult, allowed: set[str], tmp_path: Path) -> None:
    path = tmp_path / "盘点.xlsx"
    write_excel(result, path, lang="zh")
    wb = openpyxl.load_workbook(path)
    found: dict[str, set[str]] = {}
    for ws in wb.worksheets:
        words = _english(ws.title + " " + " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row
                                                   if isinstance(v, str)), allowed)
        if words:
            found[ws.title] = words
    assert found == {}


def test_terminal_in_chinese_has_no_english_label(allowed: set[str]) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["audit", str(ORDERS), "--customers-file", str(ACCOUNTS), "--tickets", str(TICKETS),
                              "--lang", "zh", "-q"], env={"COLUMNS": "140"})
    assert out.exit_code == 0, out.output
    text = out.stdout.replace(str(EXAMPLES), "")
    assert _english(text, allowed) == set()
