"""The customer book: the CRM account list joined to the buyers of the order ledger.

Frames in, frames/models out. ``accounts`` is :attr:`custinv.ingest.master.Master.accounts`
(one row per account: customer_id, signup_date, dimensions...); ``buyers`` is the
per-customer summary (customer_id, first_order, orders, revenue...).

Definitions (one place for each):

- prospect: an account with no used order up to as-of;
- missing from the master: a buyer whose id is not an account — reported with its orders
  and revenue, never dropped from any other number;
- conversion within N days: an account whose first order came at most N days after its
  signup date (an order before the signup date counts as converted: the account was
  created after the deal, which CRMs often do; those are also counted on their own);
  the headline rate is over accounts whose N-day window has fully passed by as-of
  (``signup_date + N <= as_of``), so young accounts do not pull it down;
- time to first purchase: days from signup to first order, over buyers who ordered on or
  after signing up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from custinv.analytics.periods import period_label_expr
from custinv.models import ConversionPeriod, ConversionSection, CustomerBookSection, InputFileReport, MissingCustomer


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def prospect_ids(accounts: pl.DataFrame, buyers: pl.DataFrame) -> pl.DataFrame:
    """Accounts without an order (one column, customer_id), in master order."""
    return accounts.select("customer_id").join(buyers.select("customer_id"), on="customer_id", how="anti",
                                                maintain_order="left")


def missing_from_master(buyers: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """Buyers whose id is not in the master, largest revenue first (customer_id, orders, revenue)."""
    return (
        buyers.join(accounts.select("customer_id"), on="customer_id", how="anti")
        .select("customer_id", "orders", "revenue")
        .sort(["revenue", "customer_id"], descending=[True, False])
    )


def fill_dimensions(
    customers: pl.DataFrame, accounts: pl.DataFrame, dims: Sequence[str]
) -> tuple[pl.DataFrame, list[str]]:
    """Take dimension values from the master where the orders lack them.

    The orders' value wins when both exist (it is what the customer bought under); returns
    the frame and the dimensions where at least one buyer (orders ≥ 1) got its value from the
    master (prospects always take theirs from it).
    """
    usable = [d for d in dims if d in accounts.columns and accounts[d].null_count() < accounts.height]
    if not usable:
        return customers, []
    master = accounts.select("customer_id", *[pl.col(d).alias(f"__m_{d}") for d in usable])
    joined = customers.join(master, on="customer_id", how="left", maintain_order="left")
    filled: list[str] = []
    exprs: list[pl.Expr] = []
    for d in usable:
        current = pl.col(d) if d in customers.columns else pl.lit(None, dtype=pl.String)
        buyer = pl.col("orders") >= 1 if "orders" in joined.columns else pl.lit(True)
        gained = joined.select((buyer & current.is_null() & pl.col(f"__m_{d}").is_not_null()).any()).item()
        if gained:
            filled.append(d)
        exprs.append(pl.coalesce(current, pl.col(f"__m_{d}")).alias(d))
    return joined.with_columns(exprs).drop([f"__m_{d}" for d in usable]), filled


def conversion_frame(accounts: pl.DataFrame, buyers: pl.DataFrame, as_of: dt.date, within_days: int) -> pl.DataFrame:
    """One row per account signed up by as-of: signup_date, first_order, days_to_first_order,
    converted (first order within the window), eligible (window passed by as-of)."""
    days = (pl.col("first_order") - pl.col("signup_date")).dt.total_days()
    return (
        accounts.filter(pl.col("signup_date").is_not_null() & (pl.col("signup_date") <= as_of))
        .select("customer_id", "signup_date")
        .join(buyers.select("customer_id", "first_order"), on="customer_id", how="left", maintain_order="left")
        .with_columns(days.alias("days_to_first_order"))
        .with_columns(
            (pl.col("days_to_first_order") <= within_days).fill_null(False).alias("converted"),
            (pl.col("signup_date") + pl.duration(days=within_days) <= as_of).alias("eligible"),
        )
    )


def conversion_section(
    accounts: pl.DataFrame,
    buyers: pl.DataFrame,
    as_of: dt.date,
    *,
    within_days: int = 90,
    period: str = "month",
    fiscal_year_start: int = 1,
) -> ConversionSection:
    """Conversion of accounts into buyers, overall and per signup period."""
    frame = conversion_frame(accounts, buyers, as_of, within_days)
    eligible = frame.filter(pl.col("eligible"))
    on_time = frame.filter(pl.col("days_to_first_order") >= 0)["days_to_first_order"]
    by_period = (
        frame.with_columns(period_label_expr(pl.col("signup_date"), period, fiscal_year_start).alias("period"))
        .group_by("period")
        .agg(
            pl.len().alias("accounts"),
            pl.col("converted").sum().alias("converted"),
            pl.col("eligible").all().alias("complete"),
            pl.col("signup_date").min().alias("first"),
        )
        .sort("first")
    )
    periods = [
        ConversionPeriod(period=r["period"], accounts=r["accounts"], converted=r["converted"],
                         conversion_rate=_ratio(r["converted"], r["accounts"]), complete=r["complete"])
        for r in by_period.iter_rows(named=True)
    ]
    converted = int(eligible["converted"].sum())
    return ConversionSection(
        within_days=within_days,
        period=period,
        accounts=frame.height,
        accounts_eligible=eligible.height,
        converted=converted,
        conversion_rate=_ratio(converted, eligible.height),
        median_days_to_first_order=float(on_time.median()) if on_time.len() else None,  # type: ignore[arg-type]
        mean_days_to_first_order=float(on_time.mean()) if on_time.len() else None,  # type: ignore[arg-type]
        ordered_before_signup=int((frame["days_to_first_order"] < 0).sum()),
        periods=periods,
    )


def book_section(
    accounts: pl.DataFrame,
    report: InputFileReport,
    buyers: pl.DataFrame,
    as_of: dt.date,
    *,
    within_days: int = 90,
    period: str = "month",
    fiscal_year_start: int = 1,
    top: int = 20,
    dimensions_from_master: Sequence[str] = (),
) -> CustomerBookSection:
    """The ``customer_book`` block of the stocktake."""
    prospects = prospect_ids(accounts, buyers).height
    missing = missing_from_master(buyers, accounts)
    has_dates = accounts["signup_date"].null_count() < accounts.height
    return CustomerBookSection(
        source=report,
        accounts=accounts.height,
        buyers=accounts.height - prospects,
        prospects=prospects,
        prospect_share=_ratio(prospects, accounts.height),
        customers_missing_from_master=missing.height,
        missing_orders=int(missing["orders"].sum()),
        missing_revenue=float(missing["revenue"].sum()),
        missing_customers=[MissingCustomer(**r) for r in missing.head(top).iter_rows(named=True)],
        dimensions_from_master=list(dimensions_from_master),
        conversion=conversion_section(accounts, buyers, as_of, within_days=within_days, period=period,
                                      fiscal_year_start=fiscal_year_start) if has_dates else None,
    )
