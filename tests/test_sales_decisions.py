"""Statuses that decide, guesses that are visible, profiles that can be forced (issue 13).

Each test writes a small export with real-looking ugliness and checks the numbers and the
warnings through the CLI, as a user would see them.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from custinv.cli import app
from custinv.ingest import parse
from custinv.ingest.profiles import parse_profile

ORDERS = (
    "Order ID,Customer ID,Order Date,Total,Order Status\n"
    "1,C1,2024-01-05,100.00,paid\n"
    "2,C1,2024-02-05,50.00,Ready for collection\n"
    "3,C2,2024-02-07,70.00,Ready for collection\n"
    "4,C2,2024-03-01,30.00,cancelled\n"
)


def _audit(path: Path, *extra: str) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, ["audit", str(path), "--format", "json", "--no-clv", *extra])
    out = json.loads(result.stdout) if result.exit_code == 0 and result.stdout.strip() else {}
    return result.exit_code, out, result.stderr


def _write(tmp_path: Path, text: str, name: str = "orders.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_unknown_status_is_used_with_a_warning_naming_rows_and_revenue(tmp_path: Path) -> None:
    code, out, err = _audit(_write(tmp_path, ORDERS))
    assert code == 0
    assert out["kpis"]["orders"] == 3 and out["kpis"]["revenue"] == 220.0
    (warning,) = [w for w in out["source"]["warnings"] if "Ready for collection" in w]
    assert "2 row(s), revenue 120.00" in warning and "--status-used" in warning
    assert "Ready for collection" in err  # on stderr too


def test_strict_turns_any_warning_into_exit_65(tmp_path: Path) -> None:
    code, _, err = _audit(_write(tmp_path, ORDERS), "--strict")
    assert code == 65
    assert "Ready for collection" in err


def test_status_flags_decide_and_silence_the_warning(tmp_path: Path) -> None:
    path = _write(tmp_path, ORDERS)
    code, out, _ = _audit(path, "--status-excluded", "Ready for collection")
    assert code == 0
    assert out["kpis"]["orders"] == 1 and out["kpis"]["revenue"] == 100.0
    assert out["source"]["rows_excluded"]["excluded_status"] == 2
    assert not out["source"]["warnings"]
    code, out, _ = _audit(path, "--status-used", "ready FOR collection", "--strict")  # normalised like the data
    assert code == 0 and out["kpis"]["orders"] == 3


def test_status_table_in_config_file(tmp_path: Path) -> None:
    path = _write(tmp_path, ORDERS)
    config = tmp_path / "custinv.toml"
    config.write_text('[status]\nexcluded = ["Ready for collection"]\nused = ["paid"]\n', encoding="utf-8")
    code, out, _ = _audit(path, "--config", str(config))
    assert code == 0 and out["kpis"]["orders"] == 1


def test_a_value_both_used_and_excluded_is_a_usage_error(tmp_path: Path) -> None:
    code, _, _ = _audit(_write(tmp_path, ORDERS), "--status-used", "paid", "--status-excluded", "Paid")
    assert code == 2


def test_paid_amount_beats_gross_and_equal_ranks_warn(tmp_path: Path) -> None:
    text = "订单编号,客户编号,下单时间,总金额,实付金额\nA1,C1,2024-01-05,120.00,100.00\nA2,C2,2024-01-06,80.00,70.00\n"
    code, out, _ = _audit(_write(tmp_path, text))
    assert code == 0 and out["source"]["mapping"]["amount"] == "实付金额" and out["kpis"]["revenue"] == 170.0
    assert not out["source"]["warnings"]
    tie = "Order ID,Customer ID,Order Date,Sales,Revenue\n1,C1,2024-01-05,10,12\n"
    code, out, _ = _audit(_write(tmp_path, tie, "tie.csv"))
    assert code == 0 and out["source"]["mapping"]["amount"] == "Sales"
    assert any("'Sales' or 'Revenue'" in w and "--map amount='Revenue'" in w for w in out["source"]["warnings"])


def test_a_name_as_customer_key_is_a_warning(tmp_path: Path) -> None:
    text = "Customer,Order Date,Amount\nAcme,2024-01-05,10\nGlobex,2024-01-06,20\n"
    code, out, _ = _audit(_write(tmp_path, text))
    assert code == 0
    assert any("name column 'Customer'" in w and "--map customer_id" in w for w in out["source"]["warnings"])


def test_profile_is_named_forced_or_turned_off(tmp_path: Path) -> None:
    shopify = Path(__file__).parent / "fixtures" / "platforms" / "shopify" / "shopify.csv"
    _, out, _ = _audit(shopify)
    assert out["source"]["profile"] == "shopify"
    _, out, _ = _audit(shopify, "--profile", "none")
    assert out["source"]["profile"] is None
    code, out, _ = _audit(_write(tmp_path, ORDERS), "--profile", "shopify")
    assert code == 0 and out["source"]["profile"] == "shopify"
    assert any("--profile shopify forced" in w for w in out["source"]["warnings"])
    code, _, err = _audit(shopify, "--profile", "no-such-platform")
    assert code == 2 and "custinv profiles" in err


def test_inspect_shows_the_partial_mapping_before_refusing(tmp_path: Path) -> None:
    text = "Buyer Nickname,Order Date,Amount\nbob,2024-01-05,10\n"
    result = CliRunner().invoke(app, ["inspect", str(_write(tmp_path, text)), "--format", "json"])
    assert result.exit_code == 65
    payload = json.loads(result.stdout)
    assert {m["field"] for m in payload["mapping"]} >= {"order_date", "amount"}
    assert payload["missing"] == [{"field": "customer_id", "candidates": ["Buyer Nickname"]}]
    table = CliRunner().invoke(app, ["inspect", str(_write(tmp_path, text))])
    assert table.exit_code == 65 and "partial mapping" in table.stdout and "Buyer Nickname" in table.stdout


def test_transaction_types_keep_sales_and_report_refunds_and_fees(tmp_path: Path) -> None:
    text = (
        "Transaction ID,Date,Type,Status,Gross,From Email Address,Reference Txn ID\n"
        "T1,1/5/2024,Express Checkout Payment,Completed,100.00,a@example.com,\n"
        "T2,1/9/2024,Payment Refund,Completed,-40.00,shop@example.com,T1\n"
        "T3,1/10/2024,General Withdrawal,Completed,-500.00,shop@example.com,\n"
        "T4,1/12/2024,Website Payment,Completed,60.00,b@example.com,\n"
        "T5,1/13/2024,Payment Refund,Completed,-60.00,shop@example.com,T4\n"
    )
    code, out, _ = _audit(_write(tmp_path, text))
    assert code == 0
    # T4 was refunded in full (matched by reference): not a sale; T1 partly: still one
    assert out["kpis"]["orders"] == 1 and out["kpis"]["revenue"] == 100.0 and out["kpis"]["customers"] == 1
    assert out["kpis"]["returns"] == 100.0
    assert out["source"]["rows_excluded"] == {"refunded": 1, "non_sale": 1, "return": 2}


def test_second_status_column_excludes_its_orders(tmp_path: Path) -> None:
    text = ("订单编号,客户编号,下单时间,实付金额,订单状态,售后状态\n"
            "A1,C1,2024-01-05,100,交易成功,\nA2,C1,2024-01-06,80,交易成功,退款成功\nA3,C2,2024-01-07,50,已发货,售后关闭\n")
    code, out, _ = _audit(_write(tmp_path, text))
    assert code == 0 and out["kpis"]["orders"] == 2 and out["kpis"]["revenue"] == 150.0
    assert out["source"]["rows_excluded"] == {"refunded": 1}


@pytest.mark.parametrize(("encoding", "header"), [
    ("cp950", "訂單編號,客戶編號,訂單日期,訂單金額,幣別\n"),
    ("cp932", "注文番号,顧客ID,注文日,合計金額,通貨\n"),
])
def test_big5_and_shift_jis_are_chosen_by_the_header(tmp_path: Path, encoding: str, header: str) -> None:
    body = "1,甲,2024/1/5,1200,{c}\n2,甲,2024/2/5,800,{c}\n3,乙,2024/2/6,500,{c}\n"
    currency = "新臺幣" if encoding == "cp950" else "円"
    path = _write(tmp_path, header + body.format(c=currency), encoding=encoding)
    code, out, _ = _audit(path)
    assert code == 0
    assert out["source"]["files"][0]["encoding"] == encoding
    assert out["kpis"]["customers"] == 2 and out["kpis"]["revenue"] == 2500.0
    assert out["currency"] == ("TWD" if encoding == "cp950" else "JPY")


def test_month_name_dates_with_two_digit_years() -> None:
    values = pl.Series("d", ["Jan-05-24", "Mar-09-24", "Sep-30-26 23:45:00", "May 2024"])
    fmt = parse.detect_date_format(values)
    got = pl.DataFrame({"d": values}).select(parse.date_expr("d", fmt))["d"].to_list()
    assert [str(d) if d else None for d in got] == ["2024-01-05", "2024-03-09", "2026-09-30", None]


def test_currency_names_become_codes() -> None:
    names = pl.Series("c", ["人民币", "usd", "美元", "新臺幣", "円", " EUR ", ""])
    got = pl.DataFrame({"c": names}).select(parse.currency_code_expr("c"))["c"].to_list()
    assert got == ["CNY", "USD", "USD", "TWD", "JPY", "EUR", None]


def _two_level_workbook(path: Path, *, pivot: bool = True, second_data: bool = False) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "汇总"
    if pivot:
        ws.append(["行标签", "求和项:订单金额"])
        ws.append(["张三", 300])
    else:
        ws.append(["说明"])
    data = wb.create_sheet("订单明细")
    data.append(["订单编号", "客户名称", "下单", None, "金额", None])
    data.append([None, None, "时间", "渠道", "实付金额", "应付金额"])
    for cells in ("A1:A2", "B1:B2", "C1:D1", "E1:F1"):
        data.merge_cells(cells)
    data.append(["A1", "张三", "2024-01-05", "web", 100, 120])
    data.append(["A2", "张三", "2024-02-05", "web", 200, 210])
    data.append(["A3", "李四", "2024-02-07", "app", 50, 50])
    if second_data:
        other = wb.create_sheet("退货")
        other.append(["订单编号", "客户名称", "下单时间", "实付金额"])
        other.append(["R1", "张三", "2024-03-01", -20])
    wb.save(path)
    return path


def test_two_level_merged_header_and_the_data_sheet_over_a_pivot(tmp_path: Path) -> None:
    code, out, _ = _audit(_two_level_workbook(tmp_path / "book.xlsx"))
    assert code == 0
    assert out["source"]["files"][0]["sheet"] == "订单明细"
    assert out["source"]["mapping"]["order_date"] == "下单 时间" and out["source"]["mapping"]["amount"] == "实付金额"
    assert out["kpis"]["customers"] == 2 and out["kpis"]["orders"] == 3 and out["kpis"]["revenue"] == 350.0
    assert any("two header rows (rows 1–2)" in w for w in out["source"]["warnings"])


def test_a_sheet_chosen_among_several_is_a_warning(tmp_path: Path) -> None:
    code, out, _ = _audit(_two_level_workbook(tmp_path / "book.xlsx", second_data=True))
    assert code == 0 and out["source"]["files"][0]["sheet"] == "订单明细"
    assert any("also table-like: '退货'" in w and "--sheet" in w for w in out["source"]["warnings"])


def test_no_data_sheet_is_an_error_naming_the_sheets(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["行标签", "求和项:金额"])
    wb.active.append(["张三", 1])
    wb.create_sheet("说明").append(["导出说明"])
    wb.save(tmp_path / "pivot.xlsx")
    code, _, err = _audit(tmp_path / "pivot.xlsx")
    assert code == 65 and "--sheet" in err and "'说明'" in err


def test_profile_files_are_checked_when_loaded() -> None:
    with pytest.raises(TypeError, match="name and title"):
        parse_profile({"title": "x"}, "bad.toml")
    with pytest.raises(TypeError, match="columns.amount"):
        parse_profile({"name": "x", "title": "x", "columns": {"amount": 3}}, "bad.toml")


def test_an_unmapped_payment_date_with_blanks_is_a_warning(tmp_path: Path) -> None:
    text = ("Sales Record Number,Buyer Username,Sale Date,Paid On Date,Total Price\n"
            "1,ann,Jan-05-24,Jan-05-24,$10.00\n2,bob,Jan-06-24,,$20.00\n3,ann,Feb-01-24,Feb-01-24,$5.00\n")
    code, out, _ = _audit(_write(tmp_path, text), "--profile", "none")
    assert code == 0 and out["kpis"]["orders"] == 3
    assert any("no payment date in 'Paid On Date'" in w and "--map paid_at='Paid On Date'" in w
               for w in out["source"]["warnings"])
    code, out, _ = _audit(_write(tmp_path, text), "--profile", "none", "--map", "paid_at=Paid On Date")
    assert code == 0 and out["kpis"]["orders"] == 2 and out["kpis"]["revenue"] == 15.0
    assert out["source"]["rows_excluded"] == {"unpaid": 1}


def test_a_table_wide_row_skipped_above_the_header_is_a_warning(tmp_path: Path) -> None:
    text = ("Region report,North,2024,all channels\n"
            "Order ID,Customer ID,Order Date,Amount\n1,C1,2024-01-05,10\n2,C2,2024-01-06,20\n")
    code, out, _ = _audit(_write(tmp_path, text))
    assert code == 0 and out["kpis"]["orders"] == 2
    assert any("table-wide line(s) above the header" in w and "--header-row 1" in w
               for w in out["source"]["warnings"])
    titled = "Orders export\n\nOrder ID,Customer ID,Order Date,Amount\n1,C1,2024-01-05,10\n"
    code, out, _ = _audit(_write(tmp_path, titled, "titled.csv"))
    assert code == 0 and not out["source"]["warnings"]  # a title line is only a note


_REFUNDS = st.lists(st.lists(st.one_of(st.none(), st.sampled_from([0.0, -0.0, 5.0, -5.0, 2.5, 12.25])),
                             min_size=1, max_size=4), min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(orders=_REFUNDS)
def test_refunded_total_counts_each_order_by_the_rule(orders: list[list[float | None]]) -> None:
    """refunded_total against the rule it states, order by order: an order's refunded amounts
    written on one line, or the same on every line, count once; amounts that differ are summed
    (zeros included in that comparison: the filter that drops them must not change a total)."""
    from custinv.ingest import sales

    rows = [(f"o{k}", v) for k, amounts in enumerate(orders) for v in amounts]
    frame = pl.DataFrame({
        "__file__": [0] * len(rows), "raw_order_id": [o for o, _ in rows], "__line__": list(range(len(rows))),
        "__struct__": [None] * len(rows), "__decision__": ["used"] * len(rows),
        "refunded_amount": [v for _, v in rows],
    }, schema_overrides={"__struct__": pl.String, "refunded_amount": pl.Float64})
    want = 0.0
    for amounts in orders:
        written = [abs(v) for v in amounts if v is not None]
        if not written:
            continue
        once = len(set(written)) == 1 and len(written) in (1, len(amounts))
        want += written[0] if once else sum(written)
    assert sales.refunded_total(frame) == pytest.approx(want, abs=1e-9)
