"""Write a line-item shop export of exactly ROWS rows, in the shapes issue 14 measures.

    python benchmarks/lineitems.py 5_000_000 lines.csv --seed 7
    python benchmarks/lineitems.py 5M lines_mdy.csv --date-format mdy --money dollar --status
    python benchmarks/lineitems.py 5M lines.parquet          # typed columns (Date, Float64)
    python benchmarks/lineitems.py 200k lines.xlsx           # one sheet, typed cells

The orders come from examples/generate.py (its heavy-tailed buyers, dates and order values);
each order is then written as line items the way a shop export does: about 15 % of orders have
two or more lines that share the order id, the order date and the status, and each line carries
its own line amount (the order's value split over its lines) and quantity. Columns:
order_id, customer_id, order_date, amount, quantity, channel, region [, status].

Shapes:

* ``--date-format iso|mdy`` — ``2024-03-07`` or ``03/07/2024`` (US exports);
* ``--money plain|dollar`` — ``1234.5`` or ``$1,234.50``;
* ``--status`` — a status column per order: ``Paid``, 3 % ``Refunded`` (whole orders);
* ``--customers codes|names`` — ``C00226115`` or a name, as a sales spreadsheet keys its
  customers: ``客户 00226115`` (a CJK word and a space), one customer in ten ``C00226115 Ltd.``
  (a trailing full stop);
* the output suffix chooses CSV, Parquet (typed: dates as Date, amounts as Float64) or xlsx;
* ``--layout shopify`` — the same buyers and baskets as Shopify's "Export orders" CSV writes them
  (the 37 columns of examples/shopify_orders.csv, from Shopify's help pages): ``#1001`` order names,
  emails as the customer, ``2024-03-07 14:02:11 -0500`` timestamps, the order-level fields
  (Financial Status, Total, Refunded Amount, Cancelled at, billing…) on the first line of an order
  only, a line's quantity and unit price on every line; 3 % of orders ``refunded`` (Refunded
  Amount = Total), 1 % ``partially_refunded``, 1 % ``voided`` with a Cancelled at, 1 % ``pending``.

Text options apply to CSV only; Parquet and xlsx cells are typed as their writers type them.
Block by block (bounded memory); the same arguments always give the same file.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
MULTI_LINE_SHARE = 0.15  # orders with 2+ lines
EXTRA_LINES_MEAN = 0.6  # lines beyond the second, geometric: 2 lines most often, a few long baskets
REFUNDED_SHARE = 0.03
#: expected lines per order, to draw enough orders for ROWS lines
LINES_PER_ORDER = 1 + MULTI_LINE_SHARE * (1 + EXTRA_LINES_MEAN)


def _generate_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("custinv_examples_generate", ROOT / "examples" / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def parse_count(text: str) -> int:
    """'5M' → 5_000_000, '200k' → 200_000, '1_000' → 1000."""
    t = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if scale > 1 else t) * scale)


def expand(orders: pl.DataFrame, seed: int, block: int, status: bool) -> pl.DataFrame:
    """One order per row in, one line item per row out (order fields repeated on every line)."""
    rng = np.random.default_rng([seed, block, 14])
    n = orders.height
    multi = rng.random(n) < MULTI_LINE_SHARE
    lines = np.where(multi, 2 + rng.geometric(1 / (1 + EXTRA_LINES_MEAN), n) - 1, 1)
    total = int(lines.sum())
    row_order = np.repeat(np.arange(n), lines)
    weight = rng.uniform(0.2, 1.0, total)
    share = weight / np.bincount(row_order, weights=weight)[row_order]  # a line's part of its order
    out = orders.select(pl.all().gather(pl.Series(row_order)))
    amount = np.maximum(0.01, np.round(out["amount"].to_numpy() * share, 2))
    out = out.with_columns(
        amount=pl.Series(amount),
        quantity=pl.Series(1 + rng.poisson(0.6, total)),
    )
    if status:
        refunded = (rng.random(n) < REFUNDED_SHARE)[row_order]
        out = out.with_columns(status=pl.when(pl.Series(refunded)).then(pl.lit("Refunded")).otherwise(pl.lit("Paid")))
    return out


def dollars(col: str) -> pl.Expr:
    """1234.5 → '$1,234.50' (thousands grouped; amounts stay far below a billion)."""
    cents = (pl.col(col) * 100).round(0).cast(pl.Int64)
    whole = cents // 100
    frac = (cents % 100).cast(pl.String).str.zfill(2)
    millions, thousands, units = whole // 1_000_000, (whole // 1_000) % 1_000, whole % 1_000
    grouped = (
        pl.when(whole >= 1_000_000)
        .then(pl.concat_str(millions.cast(pl.String), pl.lit(","), thousands.cast(pl.String).str.zfill(3), pl.lit(","),
                            units.cast(pl.String).str.zfill(3)))
        .when(whole >= 1_000)
        .then(pl.concat_str(thousands.cast(pl.String), pl.lit(","), units.cast(pl.String).str.zfill(3)))
        .otherwise(units.cast(pl.String))
    )
    return pl.concat_str(pl.lit("$"), grouped, pl.lit("."), frac).alias(col)


SHOPIFY_COLUMNS = (
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
    "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
    "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price", "Lineitem sku",
    "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing City",
    "Billing Zip", "Billing Province", "Billing Country", "Notes", "Cancelled at", "Payment Method", "Refunded Amount",
    "Vendor", "Tags", "Source", "Lineitem discount",
)
"""Shopify's order export header (examples/shopify_orders.csv)."""
_PRODUCTS = ("Ethiopia Yirgacheffe - 12oz", "Paper Filters, 100 ct", "Burr Grinder Pro", "House Espresso Blend - 2lb",
             "Colombia Huila - 12oz", "Gooseneck Kettle", "Cold Brew Kit", "Decaf Sumatra - 12oz")
_CITIES = (("Austin", "78701", "TX"), ("Seattle", "98101", "WA"), ("Portland", "97205", "OR"), ("Denver", "80202", "CO"),
           ("Chicago", "60601", "IL"), ("Boston", "02108", "MA"))


def shopify(lines: pl.DataFrame, seed: int, block: int) -> pl.DataFrame:
    """Line items (one order's lines adjacent) as Shopify's order export writes them."""
    rng = np.random.default_rng([seed, block, 15])
    n = lines.height
    first = (pl.col("order_id") != pl.col("order_id").shift(1)).fill_null(True)
    per_order = rng.random(n)  # drawn per line, read on an order's first line
    status = np.select([per_order < 0.03, per_order < 0.04, per_order < 0.05, per_order < 0.06],
                       ["refunded", "partially_refunded", "voided", "pending"], "paid")
    seconds = rng.integers(8 * 3600, 22 * 3600, n)
    frame = lines.with_columns(
        pl.Series("__status__", status), pl.Series("__s__", seconds),
        pl.Series("__product__", rng.integers(0, len(_PRODUCTS), n)),
        pl.Series("__city__", rng.integers(0, len(_CITIES), n)),
        pl.Series("__shipping__", np.where(rng.random(n) < 0.5, 6.95, 0.0)),
    ).with_columns(
        # the order's values, taken from its first line: status, time, shipping
        *(pl.when(first).then(pl.col(c)).otherwise(None).forward_fill().alias(c)
          for c in ("__status__", "__s__", "__city__", "__shipping__")),
        (pl.col("amount") / pl.col("quantity")).round(2).alias("__price__"),
    ).with_columns((pl.col("__price__") * pl.col("quantity")).alias("__line__"))
    order_key = pl.col("order_id")
    subtotal = pl.col("__line__").sum().over(order_key).round(2)
    taxes = (subtotal * 0.08).round(2)
    total = (subtotal + pl.col("__shipping__") + taxes).round(2)
    created = (pl.col("order_date").cast(pl.Datetime("us")) + pl.duration(seconds=pl.col("__s__")))
    stamp = created.dt.strftime("%Y-%m-%d %H:%M:%S -0500")
    paid = (created + pl.duration(minutes=1)).dt.strftime("%Y-%m-%d %H:%M:%S -0500")
    def money(e: pl.Expr) -> pl.Expr:  # 12.5 → "12.50", as Shopify writes amounts (never negative here)
        cents = (e * 100).round(0).cast(pl.Int64)
        return pl.concat_str((cents // 100).cast(pl.String), pl.lit("."), (cents % 100).cast(pl.String).str.zfill(2))

    status_col = pl.col("__status__")
    refunded = (pl.when(status_col == "refunded").then(total)
                .when(status_col == "partially_refunded").then((total / 2).round(2)).otherwise(0.0))
    city = [pl.col("__city__").replace_strict(list(range(len(_CITIES))), [c[i] for c in _CITIES],
                                              return_dtype=pl.String) for i in range(3)]
    order_level = {
        "Financial Status": status_col,
        "Paid at": pl.when(status_col.is_in(["pending", "voided"])).then(None).otherwise(paid),
        "Fulfillment Status": pl.when(status_col == "voided").then(None).otherwise(pl.lit("fulfilled")),
        "Fulfilled at": pl.when(status_col == "voided").then(None).otherwise(paid),
        "Accepts Marketing": pl.lit("no"), "Currency": pl.lit("USD"),
        "Subtotal": money(subtotal), "Shipping": money(pl.col("__shipping__")), "Taxes": money(taxes),
        "Total": money(total), "Discount Code": pl.lit(None, dtype=pl.String), "Discount Amount": pl.lit("0.00"),
        "Shipping Method": pl.when(pl.col("__shipping__") > 0).then(pl.lit("Standard Shipping"))
        .otherwise(pl.lit("Free Shipping")),
        "Billing Name": pl.concat_str(pl.lit("Customer "), pl.col("customer_id")),
        "Billing City": city[0], "Billing Zip": city[1], "Billing Province": city[2], "Billing Country": pl.lit("US"),
        "Notes": pl.lit(None, dtype=pl.String),
        "Cancelled at": pl.when(status_col == "voided").then(paid).otherwise(None),
        "Payment Method": pl.lit("Shopify Payments"), "Refunded Amount": money(refunded),
        "Tags": pl.lit(None, dtype=pl.String), "Source": pl.col("channel").cast(pl.String),
    }
    every_line = {
        "Name": pl.concat_str(pl.lit("#"), pl.col("order_id").cast(pl.String)),
        "Email": pl.concat_str(pl.col("customer_id").cast(pl.String).str.to_lowercase(), pl.lit("@example.com")),
        "Created at": stamp, "Lineitem quantity": pl.col("quantity").cast(pl.String),
        "Lineitem name": pl.col("__product__").replace_strict(list(range(len(_PRODUCTS))), list(_PRODUCTS),
                                                              return_dtype=pl.String),
        "Lineitem price": money(pl.col("__price__")), "Lineitem compare at price": pl.lit(None, dtype=pl.String),
        "Lineitem sku": pl.concat_str(pl.lit("SKU-"), pl.col("__product__").cast(pl.String)),
        "Lineitem requires shipping": pl.lit("true"), "Lineitem taxable": pl.lit("true"),
        "Lineitem fulfillment status": pl.when(status_col == "voided").then(None).otherwise(pl.lit("fulfilled")),
        "Vendor": pl.lit("Northwind Coffee Co."), "Lineitem discount": pl.lit("0.00"),
    }
    columns = {**{k: pl.when(first).then(v.cast(pl.String)) for k, v in order_level.items()},
               **{k: v.cast(pl.String) for k, v in every_line.items()}}
    return frame.select(columns[c].alias(c) for c in SHOPIFY_COLUMNS)


def blocks(rows: int, seed: int, status: bool) -> Iterator[pl.DataFrame]:
    """Line-item frames, block by block, exactly `rows` lines in all (the last order may be cut short)."""
    gen = _generate_module()
    orders = max(1, round(rows / LINES_PER_ORDER))
    plan = gen.make_plan(orders, max(1, orders // 8), date(2021, 1, 1), date(2024, 12, 31), seed, 2_000_000)
    left = rows
    for k, df in enumerate(gen.frames(plan)):
        if left <= 0:
            return
        lines = expand(df, seed, k, status).head(left)
        left -= lines.height
        yield lines
    while left > 0:  # fewer lines than asked (chance): repeat the last block's shape with new order ids
        extra = expand(df.with_columns(pl.col("order_id") + 10_000_000_000 + left), seed, left, status).head(left)
        left -= extra.height
        yield extra


def named(column: str) -> pl.Expr:
    """``--customers names``: the same customers, keyed by a name instead of a code."""
    digits = pl.col(column).str.slice(1)
    return (pl.when(digits.str.ends_with("0")).then(pl.concat_str(pl.col(column), pl.lit(" Ltd.")))
            .otherwise(pl.concat_str(pl.lit("客户 "), digits)).alias(column))


def write(rows: int, out: Path, seed: int, date_format: str, money: str, status: bool, layout: str = "plain",
          customers: str = "codes") -> int:
    suffix = out.suffix.lower()
    frames = blocks(rows, seed, status)
    if customers == "names":
        frames = (df.with_columns(named("customer_id")) for df in frames)
    if layout == "shopify":
        if suffix != ".csv":
            raise SystemExit("--layout shopify writes CSV (Shopify exports CSV)")
        with out.open("wb") as fh:
            written = 0
            for i, df in enumerate(frames):
                shopify(df, seed, i).write_csv(fh, include_header=i == 0)
                written += df.height
        return written
    if suffix == ".parquet":
        whole = pl.concat(frames, rechunk=False)
        whole.write_parquet(out, row_group_size=1_000_000)
        return whole.height
    if suffix == ".xlsx":
        whole = pl.concat(frames)
        whole.write_excel(out, worksheet="Orders", autofit=False, dtype_formats={pl.Date: "yyyy-mm-dd"})
        return whole.height
    written = 0
    with out.open("wb") as fh:
        for i, df in enumerate(frames):
            text = df
            if date_format == "mdy":
                text = text.with_columns(pl.col("order_date").dt.strftime("%m/%d/%Y"))
            if money == "dollar":
                text = text.with_columns(dollars("amount"))
            text.write_csv(fh, include_header=i == 0, float_precision=2)
            written += df.height
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", type=parse_count, metavar="ROWS", help="line items to write (5M, 200k, 1_000_000)")
    ap.add_argument("out", type=Path, metavar="OUT", help="output file: .csv, .parquet or .xlsx")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--date-format", choices=("iso", "mdy"), default="iso")
    ap.add_argument("--money", choices=("plain", "dollar"), default="plain")
    ap.add_argument("--status", action="store_true", help="add a status column (3 %% of orders Refunded)")
    ap.add_argument("--customers", choices=("codes", "names"), default="codes",
                    help="names: customers keyed by a name (客户 00226115, C00226110 Ltd.)")
    ap.add_argument("--layout", choices=("plain", "shopify"), default="plain",
                    help="shopify: Shopify's order export (37 columns, order fields on the first line of an order)")
    args = ap.parse_args(argv)
    n = write(args.rows, args.out, args.seed, args.date_format, args.money, args.status, args.layout, args.customers)
    print(f"wrote {n:,} line items to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
