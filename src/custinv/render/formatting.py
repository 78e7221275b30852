"""Number formatting for display outputs: money rounded at the edge, rates as percentages, and
the one answer to "is this KPI money, a rate, a count or a number?" — read from the pydantic
models' own annotations (``Money`` / ``Rate``), so a new KPI is formatted right by every
renderer the moment it is declared, and no renderer keeps its own list."""

from __future__ import annotations

import functools
import typing
from typing import Literal

from pydantic import BaseModel

Kind = Literal["money", "rate", "count", "number"]

CURRENCY_SYMBOLS = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£", "JPY": "¥", "HKD": "HK$"}


def excel_money_format(currency: str | None) -> str:
    """The workbook's money format carrying the currency: ``"$"#,##0.00`` or ``#,##0.00 "CHF"``."""
    symbol = CURRENCY_SYMBOLS.get(currency or "", "")
    if symbol:
        return f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00'
    if currency:
        return f'#,##0.00 "{currency}";-#,##0.00 "{currency}"'
    return "#,##0.00"


def fmt_count(value: int | float | None) -> str:
    return "—" if value is None else f"{int(value):,}"


def fmt_number(value: float | int | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def fmt_money(value: float | None, currency: str | None) -> str:
    if value is None:
        return "—"
    symbol = CURRENCY_SYMBOLS.get(currency or "", "")
    text = f"{abs(value):,.2f}"
    sign = "-" if value < 0 else ""
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text}" + (f" {currency}" if currency else "")


def fmt_rate(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


SPARK_CHARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | int | None]) -> str:
    """A one-line trend: ▁ for the smallest value, █ for the largest, a space for a missing one."""
    present = [float(v) for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = high - low
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif span == 0:
            out.append(SPARK_CHARS[3])
        else:
            out.append(SPARK_CHARS[min(len(SPARK_CHARS) - 1, int((float(v) - low) / span * len(SPARK_CHARS)))])
    return "".join(out)


def _kind(model: type[BaseModel], name: str) -> Kind | None:
    from custinv import models

    info = model.model_fields[name]
    money = {id(m) for t in (models.Money, models.OptMoney) for m in typing.get_args(t)[1:]}
    rate = {id(m) for m in typing.get_args(models.Rate)[1:]}
    if "measure" in info.metadata:  # hours, points, per-100 counts: rounded like a rate, read as a number
        return "number"
    for meta in info.metadata:
        if id(meta) in money:
            return "money"
        if id(meta) in rate:
            return "rate"
    annotation = info.annotation
    bare = {a for a in typing.get_args(annotation) if a is not type(None)} or {annotation}
    if bare == {int}:
        return "count"
    if bare <= {float, int}:
        return "number"
    return None


@functools.cache
def kinds() -> dict[str, Kind]:
    """Every numeric field of the result models by name, first declaration wins (the headline
    KPIs first); ``service.<kpi>`` and ``book.<kpi>`` for the comparison's prefixed keys."""
    from custinv import models

    out: dict[str, Kind] = {}
    for model in (models.Kpis, models.PeriodKpis, models.ChurnSection, models.AtRiskCustomer, models.ValueTierRow,
                  models.RfmSegmentRow, models.BreakdownRow, models.LifecycleRow, models.SourceReport,
                  models.ClvSection):
        for name in model.model_fields:
            kind = _kind(model, name)
            if kind is not None:
                out.setdefault(name, kind)
    prefixed: tuple[tuple[str, type[BaseModel]], ...] = (("service.", models.ServiceKpis),
                                                          ("book.", models.CustomerBookSection))
    for prefix, section in prefixed:
        for name in section.model_fields:
            kind = _kind(section, name)
            if kind is not None:
                out[prefix + name] = kind
                out.setdefault(name, kind)  # the section's own cards use the bare name
    out.setdefault("clv", "money")  # the CLV card: ClvSection.total under the name people read
    return out


def kpi_kind(key: str) -> Kind:
    """How a KPI reads (money, rate, count or number), from its model's annotation; unknown → count."""
    table = kinds()
    return table.get(key) or table.get(key.split(".")[-1]) or "count"


def fmt_kpi(key: str, value: float | int | None, currency: str | None) -> str:
    """A KPI for a table cell, formatted by its kind."""
    kind = kpi_kind(key)
    if kind == "money":
        return fmt_money(value, currency)
    if kind == "rate":
        return fmt_rate(value)
    if kind == "number" or (isinstance(value, float) and not value.is_integer()):
        return fmt_number(value)
    return fmt_count(value)
