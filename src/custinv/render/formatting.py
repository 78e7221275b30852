"""Number formatting for display outputs: money rounded at the edge, rates as percentages."""

from __future__ import annotations

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
