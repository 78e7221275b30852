"""The ledger rules of design.md, each on a hand-made file with numbers computed by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from custinv.config import Settings
from custinv.errors import DataError, UsageError
from custinv.ingest.ledger import build_ledger


def ledger_of(paths, **settings):
    return build_ledger(list(paths), Settings(**settings))


def accounting_ok(led) -> None:
    s = led.source
    assert s.rows_read == s.rows_used + sum(s.rows_excluded.values()) + s.rows_rejected


SHOPIFY = """Name,Email,Financial Status,Currency,Total,Created at,Lineitem quantity,Lineitem price
#1001,Jane@Example.com,paid,USD,30.00,2024-03-05 14:22:10 -0500,1,10.00
#1001,,,,,2024-03-05 14:22:10 -0500,2,10.00
#1002,bob@example.com,refunded,USD,55.00,2024-03-06 09:00:00 -0500,1,50.00
#1002,,,,,2024-03-06 09:00:00 -0500,1,5.00
#1003,jane@example.com,partially_refunded,USD,12.50,2024-03-07 10:00:00 -0500,1,12.50
#1004,,paid,USD,8.00,2024-03-08 10:00:00 -0500,1,8.00
"""


def test_shopify_first_line_totals_and_order_level_status(write):
    led = ledger_of([write("orders.csv", SHOPIFY)])
    accounting_ok(led)
    s = led.source
    assert s.rows_read == 6
    assert s.rows_used == 3  # #1001 (2 lines) + #1003
    assert s.rows_excluded == {"anonymous": 1, "refunded": 2}
    assert s.rows_rejected == 0
    assert s.anonymous_revenue == pytest.approx(8.0)
    orders = led.orders
    assert orders.height == 2
    # total written only on the first line is counted once, not 30 + null
    assert orders["amount"].sum() == pytest.approx(42.5)
    # Jane@Example.com and jane@example.com are one customer
    assert orders["customer_id"].unique().to_list() == ["jane@example.com"]
    assert led.currency == "USD"
    assert led.as_of == dt.date(2024, 3, 7)
    assert "order totals" in " ".join(s.files[0].notes)


def test_repeated_order_total_counted_once(write):
    text = """Order ID,Customer ID,Order Date,Order Total,Qty
A1,c1,2024-01-02,100,1
A1,c1,2024-01-02,100,3
A2,c2,2024-01-03,40,1
A2,c2,2024-01-03,40,1
A3,c2,2024-01-05,7,1
"""
    led = ledger_of([write("o.csv", text)])
    assert led.orders["amount"].sum() == pytest.approx(147.0)
    assert led.orders.height == 3
    accounting_ok(led)


def test_line_amounts_are_summed_per_order(write):
    text = """Order ID,Customer ID,Order Date,Amount
A1,c1,2024-01-02,100
A1,c1,2024-01-02,25.5
A2,c2,2024-01-03,40
A2,c2,2024-01-03,40
"""
    led = ledger_of([write("o.csv", text)])
    got = dict(zip(led.orders["order_id"], led.orders["amount"]))
    # A2's equal lines alone do not make the column an order total: A1 proves it is a line amount
    assert got == {"A1": pytest.approx(125.5), "A2": pytest.approx(80.0)}


def test_quantity_times_price_without_amount(write):
    text = """InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice
536365,17850.0,12/1/2010 8:26,6,2.55
536365,17850.0,12/1/2010 8:26,6,3.39
C536379,17850.0,12/13/2010 9:41,-1,27.50
536366,13047,12/1/2010 8:28,0,0
536367,13047,12/25/2010 8:28,2,0
"""
    led = ledger_of([write("retail.csv", text)])
    accounting_ok(led)
    s = led.source
    assert s.rows_excluded == {"return": 1, "void_line": 1}
    assert s.returns == pytest.approx(27.5)
    orders = led.orders.sort("order_id")
    assert orders["order_id"].to_list() == ["536365", "536367"]
    assert orders["amount"].to_list() == pytest.approx([6 * 2.55 + 6 * 3.39, 0.0])  # free items are a purchase
    assert sorted(orders["customer_id"].unique().to_list()) == ["13047", "17850"]  # 17850.0 -> 17850


def test_without_order_id_one_customer_day_is_one_order(write):
    text = """Customer,Date,Sales
acme,2024-05-01,100
acme,2024-05-01,50
acme,2024-05-02,10
bolt,2024-05-01,5
"""
    led = ledger_of([write("o.csv", text)])
    assert led.orders.height == 3
    assert led.orders.filter(pl.col("customer_id") == "acme")["amount"].to_list() == pytest.approx([150.0, 10.0])


def test_duplicate_lines_across_files_counted_once(write):
    jan = "Customer ID,Order Date,Amount\nc1,2024-01-30,10\nc1,2024-01-30,10\nc2,2024-01-31,5\n"
    overlap = "Customer ID,Order Date,Amount\nc1,2024-01-30,10\nc2,2024-01-31,5\nc2,2024-01-31,5\nc3,2024-02-01,7\n"
    led = ledger_of([write("jan.csv", jan), write("feb.csv", overlap)])
    accounting_ok(led)
    assert led.source.rows_read == 7
    # jan has c1's line twice (two equal purchases kept); feb repeats one of them and c2's line once more
    assert led.source.rows_excluded == {"duplicate": 2}
    assert led.source.files[1].rows_excluded == {"duplicate": 2}
    assert led.orders["amount"].sum() == pytest.approx(10 + 10 + 5 + 5 + 7)


def test_explicit_as_of_excludes_later_orders(write):
    text = "Customer ID,Order Date,Amount\nc1,2024-01-30,10\nc1,2024-03-01,10\nc2,2024-02-29,5\n"
    led = ledger_of([write("o.csv", text)], as_of="2024-02-29")
    assert led.source.rows_excluded == {"after_as_of": 1}
    assert led.as_of == dt.date(2024, 2, 29)
    assert led.orders.height == 2


def test_several_currencies_need_a_choice(write):
    text = "Customer ID,Order Date,Amount,Currency\nc1,2024-01-30,10,USD\nc2,2024-01-30,10,EUR\nc3,2024-01-31,1,usd\n"
    path = write("o.csv", text)
    with pytest.raises(DataError) as err:
        ledger_of([path])
    assert "USD" in err.value.message and "EUR" in err.value.message
    assert err.value.exit_code == 65
    led = ledger_of([path], currency="usd")
    assert led.currency == "USD"
    assert led.source.rows_excluded == {"other_currency": 1}
    assert led.orders["amount"].sum() == pytest.approx(11.0)


def test_currency_from_amount_symbols(write):
    text = '客户编号,下单时间,实付金额\nA,2024年3月5日,"¥1,234.50"\nB,2024年3月6日,88元\n'
    led = ledger_of([write("o.csv", text)])
    assert led.currency == "CNY"
    assert led.orders["amount"].sum() == pytest.approx(1322.5)


def test_required_field_missing_lists_columns(write):
    path = write("o.csv", "Foo,Bar,Baz\n1,2,3\n")
    with pytest.raises(DataError) as err:
        ledger_of([path])
    assert "customer_id" in err.value.message and "order_date" in err.value.message
    assert "'Foo'" in (err.value.hint or "")


def test_map_overrides_only_named_fields(write):
    text = "Buyer,When,Amount\nx,2024-01-01,3\ny,2024-01-02,4\n"
    path = write("o.csv", text)
    led = ledger_of([path], mapping={"customer_id": "Buyer", "order_date": "When"})
    assert led.mappings[0].as_dict() == {"customer_id": "Buyer", "order_date": "When", "amount": "Amount"}
    with pytest.raises(UsageError):
        ledger_of([path], mapping={"customer_id": "Nope"})


def test_reject_rate_over_limit_is_bad_data(write):
    text = "Customer ID,Order Date,Amount\nc1,2024-01-30,10\nc2,not a date,5\nc3,2024-01-30,N/A\nc4,2024-01-31,oops\n"
    path = write("o.csv", text)
    with pytest.raises(DataError) as err:
        ledger_of([path])
    assert "over --max-reject-rate" in err.value.message
    led = ledger_of([path], max_reject_rate=0.9)
    accounting_ok(led)
    assert led.source.reject_reasons == {"bad_date": 1, "missing_amount": 1, "bad_amount": 1}
    rejects = led.rejects.sort("line")
    assert rejects["line"].to_list() == [3, 4, 5]
    assert rejects["column"].to_list() == ["Order Date", "Amount", "Amount"]
    assert rejects["value"].to_list() == ["not a date", "N/A", "oops"]


def test_deal_export_counts_only_won_stages(write):
    text = """Account Name,Close Date,Amount,Stage
Acme,3/15/2024,"$12,500.00",Closed Won
Acme,3/20/2024,"$1,000.00",Closed Lost
Bolt,3/21/2024,$500.00,Negotiation/Review
Bolt,3/22/2024,$700.00,Verbal Commit
"""
    led = ledger_of([write("opps.csv", text)])
    assert led.source.rows_excluded == {"lost": 1, "open": 2}
    assert led.orders["amount"].sum() == pytest.approx(12500.0)


def test_nothing_usable_is_bad_data(write):
    with pytest.raises(DataError):
        ledger_of([write("o.csv", "Customer ID,Order Date,Amount\n")])
