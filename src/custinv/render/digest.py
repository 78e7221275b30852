"""What the Excel and HTML reports show, decided once: labels, localized number formats,
headline KPI cards with their change vs the previous period, and the per-customer table.

Both report renderers read these helpers, so a card or a column header can never say one
thing in the workbook and another in the HTML. Nothing here computes a business number: the
values come from the Stocktake (or the audit's per-customer frame); this module only picks,
compares two numbers the Stocktake already holds, and formats.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from custinv.models import PeriodKpis, Stocktake
from custinv.render.formatting import CURRENCY_SYMBOLS, fmt_money, kpi_kind
from custinv.render.i18n import label
from custinv.render.pii import PII_COLUMNS, PiiMode, protect_frame

Lang = Literal["en", "zh"]

# ----------------------------------------------------------------------------- number formats


def money(value: float | None, currency: str | None, lang: Lang = "en") -> str:
    """Money rounded to cents at the edge, with the currency's symbol (the same in both languages)."""
    return fmt_money(value, currency)


def compact_money(value: float | None, currency: str | None, lang: Lang = "en") -> str:
    """Headline figures: 12.3k / 4.5M in English, 1.23万 / 4.5亿 in Chinese."""
    if value is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency or "", "")
    sign, v = ("-" if value < 0 else ""), abs(value)
    steps: tuple[tuple[float, str], ...]
    if lang == "zh":
        steps = ((1e8, "亿"), (1e4, "万"))
    else:
        steps = ((1e9, "B"), (1e6, "M"), (1e3, "k"))
    for size, suffix in steps:
        if v >= size:
            text = f"{v / size:,.2f}".rstrip("0").rstrip(".") + suffix
            break
    else:
        text = f"{v:,.2f}"
    out = f"{sign}{symbol}{text}"
    return out if symbol or not currency else f"{out} {currency}"


def count(value: int | float | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def rate(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def date_text(value: dt.date | None, lang: Lang = "en") -> str:
    if value is None:
        return "—"
    return f"{value.year}年{value.month}月{value.day}日" if lang == "zh" else value.strftime("%-d %b %Y")


# ----------------------------------------------------------------------------- KPI cards

LOWER_IS_BETTER = frozenset({"churn_rate", "churned_customers", "returns", "at_risk_customers", "churned_revenue",
                             "complaint_rate", "complaints", "tickets_per_100_orders", "resolution_hours",
                             "mean_resolution_hours", "customers_lost", "missing_customers", "missing_revenue"})
NEUTRAL = frozenset({"new_customer_window_days", "active_window_days", "mean_interpurchase_days"})
"""Moves that are neither good nor bad news (windows, a buying cycle): shown grey."""


def tone(key: str, delta: float | None) -> Literal["good", "bad", "flat"]:
    """Colour by meaning, for every report: a rise of churn is bad (red), a rise of revenue good."""
    if delta is None or abs(delta) < 1e-12 or key in NEUTRAL:
        return "flat"
    up = delta > 0
    return "good" if up != (key in LOWER_IS_BETTER) else "bad"

CARD_KPIS: tuple[tuple[str, str | None], ...] = (
    # (kpis key, the kpis_by_period key it is compared on)
    ("customers", "customers_end"),
    ("revenue", "revenue"),
    ("orders", "orders"),
    ("average_order_value", "average_order_value"),
    ("active_customers", "active_customers"),
    ("new_customers", "new_customers"),
    ("repeat_purchase_rate", "repeat_purchase_rate"),
    ("churn_rate", "churn_rate"),
    ("retention_rate", "retention_rate"),
    ("top20_revenue_share", None),
)


def format_kpi(key: str, value: Any, currency: str | None, lang: Lang = "en", *, compact: bool = False) -> str:
    """A KPI by its kind (:func:`custinv.render.formatting.kpi_kind`, read from the result model)."""
    kind = kpi_kind(key)
    if kind == "money":
        return compact_money(value, currency, lang) if compact else money(value, currency, lang)
    if kind == "rate":
        return rate(value)
    if isinstance(value, float):
        return number(value)
    return count(value)


@dataclass(frozen=True)
class Change:
    """One metric in the last complete period against the period before it."""

    key: str
    period_key: str
    latest: float | None
    previous: float | None
    latest_period: str
    previous_period: str

    @property
    def is_rate(self) -> bool:
        return kpi_kind(self.period_key) == "rate"

    @property
    def delta(self) -> float | None:
        """Rates change in points (a fraction difference); counts and money relatively."""
        if self.latest is None or self.previous is None:
            return None
        if self.is_rate:
            return self.latest - self.previous
        if self.previous == 0:
            return None
        return (self.latest - self.previous) / abs(self.previous)

    @property
    def direction(self) -> Literal["up", "down", "flat"] | None:
        d = self.delta
        if d is None:
            return None
        return "flat" if abs(d) < 0.0005 else ("up" if d > 0 else "down")

    @property
    def good(self) -> bool | None:
        """Is the move good news? (Churn going up is not.)"""
        if self.direction in (None, "flat"):
            return None
        up = self.direction == "up"
        return not up if self.period_key in LOWER_IS_BETTER else up

    def delta_text(self) -> str:
        d = self.delta
        if d is None:
            return "—"
        arrow = {"up": "▲", "down": "▼", "flat": "▶"}[self.direction or "flat"]
        if self.is_rate:
            return f"{arrow} {abs(d) * 100:.1f} pp"
        return f"{arrow} {abs(d) * 100:.1f}%"


def comparison_periods(st: Stocktake) -> tuple[PeriodKpis, PeriodKpis] | None:
    """The last complete period and the one before it (the basis of every "vs last period")."""
    complete = [p for p in st.kpis_by_period or [] if not p.partial]
    return (complete[-1], complete[-2]) if len(complete) >= 2 else None


def period_change(st: Stocktake, key: str, period_key: str) -> Change | None:
    pair = comparison_periods(st)
    if pair is None:
        return None
    latest, previous = pair
    return Change(key, period_key, getattr(latest, period_key), getattr(previous, period_key),
                  latest.period, previous.period)


@dataclass(frozen=True)
class Card:
    """One KPI card. ``window`` says what the big number covers; ``change`` is always the move
    of a *period* metric between the last two complete periods. When the card's own number is
    that period metric (``same_basis``), the change is its change; otherwise the change is shown
    on its own line, named and dated, never under the lifetime number as if it were its move."""

    key: str
    label: str
    value: Any
    text: str
    change: Change | None
    window: str = ""
    definition: str = ""
    same_basis: bool = False

    def change_line(self, currency: str | None, lang: Lang) -> str | None:
        """The change as a sentence that names what moved: "Revenue 2024-12: 159k ▲4.2% vs 153k (2024-11)"."""
        ch = self.change
        if ch is None or ch.delta is None:
            return None
        latest = format_kpi(ch.period_key, ch.latest, currency, lang, compact=True)
        previous = format_kpi(ch.period_key, ch.previous, currency, lang, compact=True)
        if self.same_basis:
            return f"{ch.delta_text()} {label('report:vs', lang)} {previous} ({ch.previous_period})"
        return (f"{label('period:' + ch.period_key, lang)} {ch.latest_period}: {latest} {ch.delta_text()} "
                f"{label('report:vs', lang)} {previous} ({ch.previous_period})")


SAME_BASIS = frozenset({"retention_rate", "customer_growth_rate"})
"""Headline KPIs that *are* the last complete period's value, so its change is theirs."""


def headline_cards(st: Stocktake, lang: Lang = "en") -> list[Card]:
    """The KPI cards: the stocktake's value with its window, and the period metric's last move."""
    from custinv.render.glossary import definition, window_text

    if st.kpis is None:
        return []
    cards = []
    for key, period_key in CARD_KPIS:
        value = getattr(st.kpis, key)
        if value is None:
            continue
        change = period_change(st, key, period_key) if period_key else None
        cards.append(Card(key, label("report:" + key, lang), value, format_kpi(key, value, st.currency, lang, compact=True), change,
                          window=window_text(key, st, lang) or "", definition=definition(key, st, lang) or "",
                          same_basis=key in SAME_BASIS))
    if st.clv is not None and st.clv.total is not None:
        cards.append(Card("clv", label("report:clv_value", lang), st.clv.total, compact_money(st.clv.total, st.currency, lang),
                          None, window=f"{st.clv.horizon} {label('report:months', lang)}",
                          definition=definition("clv", st, lang) or ""))
    return cards


def kpi_rows(st: Stocktake) -> list[tuple[str, Any]]:
    """Every headline KPI the stocktake holds, in contract order (key, value)."""
    if st.kpis is None:
        return []
    return [(k, v) for k, v in st.kpis.model_dump().items() if v is not None]


# ----------------------------------------------------------------------------- customer table

CUSTOMER_ORDER: tuple[str, ...] = (
    "customer_id", "customer_name", "email", "phone", "first_order", "last_order", "orders", "revenue",
    "average_order_value", "recency_days", "tenure_days", "mean_interpurchase_days", "orders_per_year",
    "frequency_class", "value", "value_tier", "r_score", "f_score", "m_score", "rfm_code", "rfm_segment",
    "lifecycle_stage", "p_alive", "expected_purchases", "clv",
)
KEY_COLUMNS = ("frequency_class", "value_tier", "rfm_segment", "lifecycle_stage")


def customer_table(customers: pl.DataFrame, pii: PiiMode, lang: Lang = "en") -> pl.DataFrame:
    """The per-customer frame as people read it: every score, PII protected, classification keys
    as labels, dimensions last, sorted by revenue (so a capped sheet keeps the biggest customers)."""
    from custinv.analytics import actions

    first = [c for c in CUSTOMER_ORDER if c in customers.columns]
    frame = customers.select(first + [c for c in customers.columns if c not in first])
    frame = protect_frame(frame, list(PII_COLUMNS), pii)
    relabel = []
    for col in KEY_COLUMNS:
        if col in frame.columns:
            keys = frame[col].unique().drop_nulls().to_list()
            axis = actions.AXIS_OF_FIELD.get(col)
            relabel.append(pl.col(col).replace(keys, [actions.label(k, lang, axis) for k in keys]))
    frame = frame.with_columns(relabel)
    if "revenue" in frame.columns:
        frame = frame.sort("revenue", descending=True, nulls_last=True, maintain_order=True)
    return frame


def column_label(name: str, lang: Lang) -> str:
    if name == "clv":
        return label("report:clv_value", lang)
    if name == "value":
        return label("report:customer_value", lang)
    return label("report:" + name, lang)
