"""Text → typed values: money, dates, ids and emails, as Polars expressions.

Every input column arrives as text (``pl.String``). The ledger builder asks this
module for ONE expression per column and applies it to all rows at once. The
format of a column (decimal comma or point, day/month order, which date layouts
occur) is decided once, from the evidence of the whole column (or a large
sample), by a ``detect_*`` function; the matching ``*_expr`` then parses every
row the same way. Row-by-row guessing is what makes spreadsheets turn
``05/03`` into March on one line and May on the next — we never do it.

Conventions shared by every parser here:

* Failure is ``null``, never an exception and never a made-up value. The caller
  marks a *reject* where the input was non-empty but the parse is null.
* ``missing_token_expr`` tells "blank" (empty, ``-``, ``N/A``, ``null``…) from
  "bad" (``abc``, ``1e309``): blank cells are missing values, not rejects.
* Full-width ASCII (``０-９``, ``Ａ``, ``，``, ``￥``…) is folded to ASCII first, and
  the odd spaces exports use as thousands separators (NBSP, narrow NBSP, thin
  space, ideographic space) become plain spaces; zero-width marks are dropped.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

__all__ = [
    "AmbiguousDateFormat",
    "DateFormat",
    "MISSING_TOKENS",
    "MoneyFormat",
    "date_expr",
    "detect_date_format",
    "detect_money_format",
    "email_expr",
    "fold_width_expr",
    "id_expr",
    "missing_token_expr",
    "money_currency_expr",
    "money_expr",
]

# ---------------------------------------------------------------------------
# Shared text clean-up
# ---------------------------------------------------------------------------

#: Full-width forms U+FF01..U+FF5E map one-to-one onto ASCII 0x21..0x7E.
_WIDTH_FOLD: dict[str, str] = {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)}
#: Full-width currency signs (U+FFE0..U+FFE6 block).
_WIDTH_FOLD.update({"\uffe0": "¢", "\uffe1": "£", "\uffe5": "¥", "\uffe6": "₩"})
#: Spaces that exports put inside numbers or around values.
_WIDTH_FOLD.update({c: " " for c in "\u3000\u00a0\u2007\u2009\u200a\u202f\u205f"})
#: Invisible marks (BOM inside a cell, zero-width space/joiners) carry no meaning.
_WIDTH_FOLD.update({c: "" for c in "\u200b\u200c\u200d\u2060\ufeff"})

#: Cell values that mean "nothing here" (compared after fold, trim, lowercase).
#: ``nan``/``none`` are what a stringified pandas/Python missing value looks like.
MISSING_TOKENS: frozenset[str] = frozenset(
    {"", "-", "--", "---", "—", "——", "–", "/", "n/a", "na", "n.a.", "#n/a", "null",
     "none", "nil", "nan", "无"}
)

IntoCol = str | pl.Expr


def _col(col: IntoCol) -> pl.Expr:
    return pl.col(col) if isinstance(col, str) else col


def _named(out: pl.Expr, col: IntoCol) -> pl.Expr:
    """Outputs keep the input column's name when it was given by name; with an
    expression input the caller aliases."""
    return out.alias(col) if isinstance(col, str) else out


def fold_width_expr(col: IntoCol) -> pl.Expr:
    """Fold full-width ASCII to ASCII, odd spaces to ' ', drop zero-width marks.

    One Aho-Corasick pass (``replace_many``); shared by every parser and by the
    status normaliser so that ``１２３`` and ``123`` are the same text everywhere.
    """
    return _col(col).cast(pl.String).str.replace_many(_WIDTH_FOLD)


# Currency tokens. Longer tokens come first: the regex engine prefers the first
# alternative that matches at a position, so ``US$`` beats ``$``.
_CCY_SYMBOLS: dict[str, str] = {
    "US$": "USD", "HK$": "HKD", "NT$": "TWD", "AU$": "AUD", "CA$": "CAD",
    "NZ$": "NZD", "S$": "SGD", "A$": "AUD", "C$": "CAD", "R$": "BRL",
    "人民币": "CNY", "¥": "CNY", "元": "CNY", "$": "USD", "€": "EUR", "£": "GBP",
    "₩": "KRW", "₹": "INR",
}
_CCY_CODES: tuple[str, ...] = (
    "USD", "CNY", "RMB", "EUR", "GBP", "JPY", "HKD", "TWD", "SGD", "AUD", "CAD",
    "NZD", "CHF", "KRW", "INR", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RUB",
    "BRL", "MXN", "ZAR", "TRY", "THB", "MYR", "IDR", "PHP", "VND", "AED", "SAR",
)
_CCY_TO_CODE: dict[str, str] = {**{c: c for c in _CCY_CODES}, "RMB": "CNY", **_CCY_SYMBOLS}
_SYMBOL_ALT = "|".join(s.replace("$", r"\$") for s in _CCY_SYMBOLS)
_CODE_ALT = "|".join(_CCY_CODES)
#: Removal pattern: any currency token anywhere. Letters left over afterwards
#: make the number fail, so removing codes without word boundaries is safe.
_CCY_STRIP_RE = rf"(?i)(?:{_SYMBOL_ALT}|{_CODE_ALT})"
#: Extraction pattern: codes must stand alone (not inside a word); symbols need not.
_CCY_FIND_RE = rf"(?i)(?:^|[^A-Za-z])({_CODE_ALT})(?:[^A-Za-z]|$)|({_SYMBOL_ALT})"
_SYMBOL_STRIP_RE = rf"(?:{_SYMBOL_ALT})"


def missing_token_expr(col: IntoCol) -> pl.Expr:
    """True where the cell is blank-like: null, empty, ``-``, ``N/A``, ``null``…

    Lets the caller tell a *missing* value (not a reject) from garbage text (a
    reject). Currency symbols around a dash count as blank too: ``$ -`` is how
    Excel's accounting format renders an empty amount.
    """
    t = (
        fold_width_expr(col)
        .str.replace_all(_SYMBOL_STRIP_RE, "")
        .str.strip_chars()
        .str.to_lowercase()
    )
    return _named(t.is_null() | t.is_in(sorted(MISSING_TOKENS)), col)


# ---------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MoneyFormat:
    """How one money column writes its numbers, decided from the whole column.

    ``decimal`` is the decimal mark. The counts are the evidence behind it, for
    ``custinv inspect``: *strong* evidence can only be read one way
    (``1.234,56``, ``12,5``, ``1,234,567``); *weak* evidence is a lone
    three-digit group (``1.500``) that is a thousands group in a decimal-comma
    column and three decimals otherwise.
    """

    decimal: Literal[".", ","] = "."
    point_evidence: int = 0
    comma_evidence: int = 0
    weak_point_evidence: int = 0
    weak_comma_evidence: int = 0

    @property
    def ambiguous(self) -> bool:
        """True when nothing in the column proved the decimal mark."""
        return self.point_evidence == 0 and self.comma_evidence == 0


#: Sign, parentheses and body of a number, after currency tokens are removed.
#: Body: digits with any of . , space ' ’ inside; an optional exponent.
_MONEY_RE = (
    r"^(?<open>\()?\s*(?<sign>[+-])?\s*"
    r"(?<body>[.,]?[0-9](?:[0-9., '’]*[0-9.])?)"
    r"(?<exp>[eE][+-]?[0-9]+)?\s*(?<trail>-)?\s*(?<close>\))?$"
)

#: Valid bodies per decimal mark. Grouping must be real thousands grouping
#: (or Indian lakh grouping ``1,23,456``), so ``12,50`` in a decimal-point
#: column is a reject rather than silently 1250.
_BODY_POINT_RE = (
    r"^(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?:[ '’][0-9]{3})+"
    r"|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3})(?:\.[0-9]*)?$|^\.[0-9]+$"
)
_BODY_COMMA_RE = (
    r"^(?:[0-9]+|[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,3}(?:[ '’][0-9]{3})+)(?:,[0-9]*)?$|^,[0-9]+$"
)

# Evidence, read on the body with spaces and apostrophes removed.
_POINT_STRONG = (
    r"^[0-9,]*,[0-9]*\.[0-9]*$"  # both marks, point last: 1,234.56
    r"|^[0-9]+\.(?:[0-9]{0,2}|[0-9]{4,})$"  # one point, not 3 decimals: 12.5
    r"|^(?:0|[0-9]{4,})\.[0-9]{3}$"  # 0.125, 1234.567: not a thousands group
    r"|^[0-9]{1,3}(?:,[0-9]{3}){2,}$"  # 1,234,567: commas group thousands
)
_COMMA_STRONG = (
    r"^[0-9.]*\.[0-9]*,[0-9]*$"  # 1.234,56
    r"|^[0-9]+,(?:[0-9]{0,2}|[0-9]{4,})$"  # 12,5
    r"|^(?:0|[0-9]{4,}),[0-9]{3}$"  # 0,125
    r"|^[0-9]{1,3}(?:\.[0-9]{3}){2,}$"  # 1.234.567
)
_POINT_WEAK = r"^[1-9][0-9]{0,2},[0-9]{3}$"  # 1,500
_COMMA_WEAK = r"^[1-9][0-9]{0,2}\.[0-9]{3}$"  # 1.500


def _money_parts(col: IntoCol) -> pl.Expr:
    """Struct of open/sign/body/exp/trail/close from the text, currency removed."""
    t = (
        fold_width_expr(col)
        .str.replace_all("\u2212", "-", literal=True)  # U+2212 MINUS SIGN
        .str.replace_all(_CCY_STRIP_RE, "")
        .str.strip_chars()
    )
    return t.str.extract_groups(_MONEY_RE)


def detect_money_format(values: pl.Series) -> MoneyFormat:
    """Decide decimal comma vs point for a whole money column.

    Strong evidence decides (majority); with none, a lone three-digit group
    written with a point (``1.500``) and never with a comma means a
    decimal-comma column (three-decimal prices are rare, ``1.500`` for 1500 is
    how German and Russian exports write it). With no evidence at all the
    decimal point wins, so ``1,234`` is one thousand two hundred thirty-four.
    """
    body = (
        pl.DataFrame({"v": values.cast(pl.String)})
        .select(
            _money_parts("v").struct.field("body").str.replace_all(r"[ '’]", "").alias("b")
        )
        .to_series()
    )
    counts = pl.DataFrame({"b": body}).select(
        ps=pl.col("b").str.contains(_POINT_STRONG).sum(),
        cs=pl.col("b").str.contains(_COMMA_STRONG).sum(),
        pw=pl.col("b").str.contains(_POINT_WEAK).sum(),
        cw=pl.col("b").str.contains(_COMMA_WEAK).sum(),
    ).row(0)
    ps, cs, pw, cw = (int(x or 0) for x in counts)
    if ps or cs:
        decimal: Literal[".", ","] = "," if cs > ps else "."
    else:
        decimal = "," if (cw > 0 and pw == 0) else "."
    return MoneyFormat(decimal, ps, cs, pw, cw)


def money_expr(col: IntoCol, fmt: MoneyFormat) -> pl.Expr:
    """Text → Float64 amount; null when the text is not one finite number.

    Handles currency symbols/codes anywhere, thousands separators (``,`` ``.``
    space NBSP ``'``), the column's decimal mark, ``(123.45)`` and ``123.45-``
    negatives, a leading ``+``, full-width digits and ``1.5e3``. ``inf``,
    ``NaN`` and overflow (``1e309``) are null, never non-finite floats.
    Unbalanced parentheses or two signs (``-5-``) are null.
    """
    p = _money_parts(col)
    body = p.struct.field("body")
    sign = p.struct.field("sign")
    trail = p.struct.field("trail")
    has_open = p.struct.field("open").is_not_null()
    has_close = p.struct.field("close").is_not_null()
    if fmt.decimal == ".":
        valid_body = body.str.contains(_BODY_POINT_RE)
        clean = body.str.replace_all(r"[, '’]", "")
    else:
        valid_body = body.str.contains(_BODY_COMMA_RE)
        clean = body.str.replace_all(r"[. '’]", "").str.replace(",", ".", literal=True)
    number = pl.concat_str([clean, p.struct.field("exp").fill_null("")]).cast(
        pl.Float64, strict=False
    )
    negative = has_open | (sign == "-").fill_null(False) | trail.is_not_null()
    ok = (
        valid_body
        & (has_open == has_close)
        & ~(sign.is_not_null() & trail.is_not_null())
        & number.is_finite()
    )
    # `number != 0` keeps "(0)" and "-0" at 0.0 rather than -0.0.
    value = pl.when(negative & (number != 0)).then(-number).otherwise(number)
    return _named(pl.when(ok).then(value), col)


def money_currency_expr(col: IntoCol) -> pl.Expr:
    """ISO code of the currency written in a money cell, null when none.

    ``¥ ￥ 元 人民币 RMB`` → CNY, ``$``/``US$`` → USD, ``€`` → EUR, ``£`` → GBP,
    ``HK$`` → HKD…, and three-letter codes standing alone (``USD 5``, ``5 eur``).
    """
    found = fold_width_expr(col).str.extract_groups(_CCY_FIND_RE)
    token = pl.coalesce(found.struct.field("1"), found.struct.field("2")).str.to_uppercase()
    return _named(token.replace_strict(_CCY_TO_CODE, default=None, return_dtype=pl.String), col)


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------


class AmbiguousDateFormat(ValueError):
    """A date column reads equally well as day/month/year and month/day/year.

    Raised instead of guessing. ``hint`` names the option that settles it.
    The CLI maps it to exit 65 (bad data).
    """

    def __init__(self, column: str, examples: list[str], reason: str) -> None:
        self.column = column
        self.examples = examples
        self.hint = "pass --date-format '%d/%m/%Y' (day first) or '%m/%d/%Y' (month first)"
        shown = ", ".join(repr(e) for e in examples)
        super().__init__(
            f"column {column!r}: cannot tell day/month/year from month/day/year "
            f"({reason}; e.g. {shown}); {self.hint}"
        )


# Date kinds, in the order they are tried. They are mutually exclusive (each
# regex is anchored and needs a different shape), so coalescing is exact.
YMD = "ymd"  # 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, ISO with time/offset
YMD_COMPACT = "ymd_compact"  # 20240305, 20240305142210
DMY = "dmy"  # 05/03/2024, 05.03.2024, 5-3-24 read day first
MDY = "mdy"  # 3/5/2024 read month first
D_MON_Y = "d_mon_y"  # 5-Mar-2024, 05 March 2024, Tue, 05 Mar 2024
MON_D_Y = "mon_d_y"  # Mar 5, 2024, March 5th 2024
EXCEL_SERIAL = "excel_serial"  # 45356 (1900 date system), 45356.5
EPOCH_SECONDS = "epoch_seconds"  # 1709596800
EPOCH_MILLIS = "epoch_millis"  # 1709596800000
STRPTIME = "strptime"  # the user's --date-format

# Time of day after the date: ignored (the date is the calendar date as
# written), but validated loosely so "2024-03-05 garbage" is not a date.
_TIME = (
    r"(?:(?:T|\s+)(?:上午|下午)?\s*[0-9]{1,2}(?::[0-9]{2}){1,2}(?:[.,][0-9]+)?"
    r"\s*(?:[AaPp]\.?[Mm]\.?)?\s*(?:Z|UTC|GMT)?\s*(?:[+-][0-9]{2}(?::?[0-9]{2})?)?"
    r"(?:\s*\([^)]*\))?)?\s*$"
)
_MON = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?"
_FORM_RE: dict[str, str] = {
    YMD: r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?" + _TIME,
    YMD_COMPACT: r"^([0-9]{4})([0-9]{2})([0-9]{2})(?:[0-9]{6})?" + _TIME,
    "numeric": r"^([0-9]{1,2})\s*([-/.])\s*([0-9]{1,2})\s*[-/.]\s*([0-9]{4}|[0-9]{2})" + _TIME,
    D_MON_Y: rf"(?i)^{_WEEKDAY}([0-9]{{1,2}})(?:st|nd|rd|th)?[\s\-/.]*({_MON})\.?[\s\-/.,]*"
    r"([0-9]{4}|[0-9]{2})" + _TIME,
    MON_D_Y: rf"(?i)^{_WEEKDAY}({_MON})\.?[\s\-/.]*([0-9]{{1,2}})(?:st|nd|rd|th)?,?[\s\-/.]*"
    r"([0-9]{4})" + _TIME,
    EXCEL_SERIAL: r"^([0-9]{5})(?:\.[0-9]+)?$",
    EPOCH_SECONDS: r"^([0-9]{10})(?:\.[0-9]+)?$",
    EPOCH_MILLIS: r"^([0-9]{13})$",
}
#: Excel serials accepted as dates: 20000 = 1954-10-03, 80000 = 2119-01-10.
_EXCEL_EPOCH = _dt.date(1899, 12, 30)
EXCEL_SERIAL_RANGE = (20000, 80000)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_YEAR_RANGE = (1900, 2199)
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%T", "%R", "%r", "%X", "%c", "%p", "%f", "%s")
_TZ_DIRECTIVES = ("%:z", "%#z", "%z", "%Z")


@dataclass(frozen=True)
class DateFormat:
    """Which date layouts a column uses, decided from the whole column.

    ``kinds`` are the parsers applied (most common first, coalesced row by
    row); an empty tuple parses nothing, so a garbage column is all rejects.
    ``DMY`` or ``MDY`` is in ``kinds`` when numeric ``a/b/Y`` dates occur: the
    day/month order is ONE decision for the column. ``strptime`` is the
    user's ``--date-format``, which replaces detection. ``counts`` is the
    evidence (rows per kind, plus ``day_first_evidence`` /
    ``month_first_evidence`` for the numeric family) for ``custinv inspect``.
    """

    kinds: tuple[str, ...] = ()
    strptime: str | None = None
    counts: tuple[tuple[str, int], ...] = field(default=())

    @property
    def kind(self) -> str:
        """The main kind, for display (``none`` when nothing parsed)."""
        return self.kinds[0] if self.kinds else "none"


def _prep_date(col: IntoCol) -> pl.Expr:
    return fold_width_expr(col).str.strip_chars()


def detect_date_format(values: pl.Series, override: str | None = None) -> DateFormat:
    """Decide how a date column is written, from all its values.

    The numeric ``a/b/Y`` family is read day-first when some first field is
    above 12 (``13/03/2024``), month-first when some second field is (the
    larger count wins if both occur; the minority become rejects). With no
    such evidence, dots (``05.03.2024``) are read day-first — no locale writes
    m.d.Y — and values whose two fields are equal need no decision; otherwise
    :class:`AmbiguousDateFormat` is raised rather than guessing. ``override``
    (a strptime format from ``--date-format``) replaces detection.
    """
    if override:
        return DateFormat(kinds=(STRPTIME,), strptime=override)
    name = values.name or "date"
    frame = pl.DataFrame({"v": values.cast(pl.String)}).select(_prep_date("v").alias("v"))
    counts = frame.select(
        *[pl.col("v").str.contains(rx).sum().alias(k) for k, rx in _FORM_RE.items()]
    ).row(0, named=True)
    counts = {k: int(v or 0) for k, v in counts.items()}
    serial = (
        frame.select(
            pl.col("v").str.extract(_FORM_RE[EXCEL_SERIAL], 1).cast(pl.Int32)
            .is_between(*EXCEL_SERIAL_RANGE).sum()
        ).item()
    )
    counts[EXCEL_SERIAL] = int(serial or 0)

    extra: list[tuple[str, int]] = []
    numeric_kind: str | None = None
    if counts["numeric"]:
        g = frame.select(pl.col("v").str.extract_groups(_FORM_RE["numeric"]).alias("g")).unnest("g")
        g = g.rename({"1": "a", "2": "sep", "3": "b", "4": "y"}).drop_nulls("a")
        a, b = pl.col("a").cast(pl.Int32), pl.col("b").cast(pl.Int32)
        ev = g.select(
            day_first=((a > 12) & (b <= 12)).sum(),
            month_first=((b > 12) & (a <= 12)).sum(),
            all_dots=(pl.col("sep") == ".").all(),
            all_equal=(a == b).all(),
        ).row(0, named=True)
        dfe, mfe = int(ev["day_first"]), int(ev["month_first"])
        extra = [("day_first_evidence", dfe), ("month_first_evidence", mfe)]
        if dfe != mfe:
            numeric_kind = DMY if dfe > mfe else MDY
        elif dfe == 0 and (ev["all_dots"] or ev["all_equal"]):
            numeric_kind = DMY
        else:
            sample = (
                frame.filter(pl.col("v").str.contains(_FORM_RE["numeric"]))
                .get_column("v").unique(maintain_order=True).head(3).to_list()
            )
            reason = (
                "every value has both fields ≤ 12" if dfe == 0
                else f"{dfe} values read only day-first and {mfe} only month-first"
            )
            raise AmbiguousDateFormat(name, sample, reason)
        counts[numeric_kind] = counts.pop("numeric")
    else:
        counts.pop("numeric")

    seen = sorted((k for k, n in counts.items() if n > 0), key=lambda k: -counts[k])
    evidence = tuple((k, counts[k]) for k in seen) + tuple(extra)
    return DateFormat(kinds=tuple(seen), counts=evidence)


def _year(y: pl.Expr) -> pl.Expr:
    """Year text → Int32; two-digit years pivot like POSIX %y (69–99 → 19xx)."""
    n = y.cast(pl.Int32, strict=False)
    two = y.str.len_chars() == 2
    return pl.when(two & (n < 69)).then(n + 2000).when(two).then(n + 1900).otherwise(n)


def _safe_date(y: pl.Expr, m: pl.Expr, d: pl.Expr) -> pl.Expr:
    """pl.date that yields null (not an error) for impossible dates like 2024-02-30."""
    leap = ((y % 4) == 0) & (((y % 100) != 0) | ((y % 400) == 0))
    days = (
        pl.when(m == 2).then(pl.when(leap).then(29).otherwise(28))
        .when(m.is_in([4, 6, 9, 11])).then(30)
        .otherwise(31)
    )
    ok = y.is_between(*_YEAR_RANGE) & m.is_between(1, 12) & d.is_between(1, 31) & (d <= days)
    return pl.date(pl.when(ok).then(y), m, d)


def _month_number(name: pl.Expr) -> pl.Expr:
    return (
        name.str.slice(0, 3).str.to_lowercase()
        .replace_strict(_MONTHS, default=None, return_dtype=pl.Int32)
    )


def _strptime_expr(t: pl.Expr, fmt: str) -> pl.Expr:
    """The user's format. A time-zone directive is dropped (and the match made
    non-exact) so the date stays the calendar date as written, not UTC."""
    exact = True
    for tz in _TZ_DIRECTIVES:
        if tz in fmt:
            fmt, exact = fmt.replace(tz, "").rstrip(), False
    if any(d in fmt for d in _TIME_DIRECTIVES):
        return t.str.strptime(pl.Datetime, fmt, strict=False, exact=exact).dt.date()
    return t.str.strptime(pl.Date, fmt, strict=False, exact=exact)


def date_expr(col: IntoCol, fmt: DateFormat) -> pl.Expr:
    """Text → pl.Date using the column's decided kinds; null when nothing fits.

    The date is the calendar date as written: times and offsets are ignored,
    never converted. Epoch values are instants, read as their UTC date. Excel
    serials use the 1900 date system (serial 45356 = 2024-03-05). Impossible
    dates (2024-02-30) and years outside 1900–2199 are null.
    """
    return _named(_date_expr(_prep_date(col), fmt), col)


def _date_expr(t: pl.Expr, fmt: DateFormat) -> pl.Expr:
    if fmt.strptime:
        return _strptime_expr(t, fmt.strptime)
    ys: list[pl.Expr] = []
    ms: list[pl.Expr] = []
    ds: list[pl.Expr] = []
    whole: list[pl.Expr] = []
    for kind in fmt.kinds:
        if kind in (YMD, YMD_COMPACT):
            g = t.str.extract_groups(_FORM_RE[kind])
            ys.append(_year(g.struct.field("1")))
            ms.append(g.struct.field("2").cast(pl.Int32))
            ds.append(g.struct.field("3").cast(pl.Int32))
        elif kind in (DMY, MDY):
            g = t.str.extract_groups(_FORM_RE["numeric"])
            first, second = g.struct.field("1").cast(pl.Int32), g.struct.field("3").cast(pl.Int32)
            ys.append(_year(g.struct.field("4")))
            ms.append(second if kind == DMY else first)
            ds.append(first if kind == DMY else second)
        elif kind == D_MON_Y:
            g = t.str.extract_groups(_FORM_RE[kind])
            ds.append(g.struct.field("1").cast(pl.Int32))
            ms.append(_month_number(g.struct.field("2")))
            ys.append(_year(g.struct.field("3")))
        elif kind == MON_D_Y:
            g = t.str.extract_groups(_FORM_RE[kind])
            ms.append(_month_number(g.struct.field("1")))
            ds.append(g.struct.field("2").cast(pl.Int32))
            ys.append(_year(g.struct.field("3")))
        elif kind == EXCEL_SERIAL:
            n = t.str.extract(_FORM_RE[kind], 1).cast(pl.Int32)
            n = pl.when(n.is_between(*EXCEL_SERIAL_RANGE)).then(n)
            # Serial 60 is Excel's phantom 1900-02-29; every serial above it is
            # days since 1899-12-30.
            whole.append(pl.lit(_EXCEL_EPOCH) + pl.duration(days=n))
        elif kind in (EPOCH_SECONDS, EPOCH_MILLIS):
            n = t.str.extract(_FORM_RE[kind], 1).cast(pl.Int64)
            unit = "s" if kind == EPOCH_SECONDS else "ms"
            whole.append(pl.from_epoch(n, time_unit=unit).dt.date())
    parts: list[pl.Expr] = []
    if ys:
        parts.append(_safe_date(pl.coalesce(ys), pl.coalesce(ms), pl.coalesce(ds)))
    parts.extend(whole)
    if not parts:
        # A null per row (a bare literal would be one row, not the column's length).
        none = pl.lit(None, dtype=pl.Date)
        return pl.when(t.is_null()).then(none).otherwise(none)
    return parts[0] if len(parts) == 1 else pl.coalesce(parts)

# ---------------------------------------------------------------------------
# Ids and emails
# ---------------------------------------------------------------------------


def id_expr(col: IntoCol) -> pl.Expr:
    """Text → normalised id (String); null when blank-like.

    Trim, NFC, full-width folded to ASCII, control bytes (NUL…) dropped; Excel's ``="00123"`` guard and a
    text-forcing leading apostrophe on digits (``'00123``) unwrapped;
    ``17850.0`` → ``17850`` (a float-mangled integer id: only a trailing
    ``.0…`` on an all-digit id). Case and leading zeros are kept, and ids never
    pass through a number, so 19-digit ids stay exact. Blank-like tokens
    (``-``, ``N/A``, ``null``) are null: a guest written as ``-`` must not
    become one giant customer.
    """
    t = (
        fold_width_expr(col)
        .str.replace_all(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "")  # invisible control bytes
        .str.normalize("NFC")
        .str.strip_chars()
    )
    t = t.str.replace(r'^="(.*)"$', "$1").str.replace(r"^'([0-9]+)$", "$1").str.strip_chars()
    t = t.str.replace(r"^([0-9]+)\.0+$", "$1")
    return _named(pl.when(missing_token_expr(t)).then(None).otherwise(t), col)


def email_expr(col: IntoCol) -> pl.Expr:
    """An email as an id: :func:`id_expr`, then case-folded (lowercase)."""
    return id_expr(col).str.to_lowercase()
