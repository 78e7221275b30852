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

Speed (10M-row exports): every expression is a *chain* of string rewrites in
which each step reads the previous one exactly once. Eager Polars does not
share common sub-expressions, so an expression that used one regex result in
three places would run that regex three times. Validation is folded into the
rewrites instead (a valid value is rewritten into a canonical form; anything
else is left in a form the final cast/strptime rejects).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

__all__ = [
    "MISSING_TOKENS",
    "AmbiguousDateFormat",
    "DateFormat",
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

#: Ids fold only full-width digits (design.md) and odd spaces (so trimming sees them).
_ID_FOLD: dict[str, str] = {chr(0xFF10 + i): str(i) for i in range(10)}
_ID_FOLD.update({c: " " for c in "\u3000\u00a0\u2007\u2009\u200a\u202f\u205f"})
_ID_FOLD["\ufeff"] = ""  # a byte-order mark inside a cell is an artefact of joined files, not part of an id

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


# Currency tokens → ISO codes. Longer tokens first: with leftmost matching the
# earlier pattern wins at a position, so ``US$`` beats ``$``.
_CCY_SYMBOLS: dict[str, str] = {
    "US$": "USD", "HK$": "HKD", "NT$": "TWD", "AU$": "AUD", "CA$": "CAD",
    "NZ$": "NZD", "S$": "SGD", "A$": "AUD", "C$": "CAD", "R$": "BRL",
    # Chinese names of other currencies end in 元 too: they must win over the bare 元 (CNY)
    "美元": "USD", "港元": "HKD", "港币": "HKD", "欧元": "EUR", "日元": "JPY", "英镑": "GBP",
    "新台币": "TWD", "新臺幣": "TWD", "澳元": "AUD", "加元": "CAD", "新加坡元": "SGD",
    "人民币": "CNY", "¥": "CNY", "元": "CNY", "$": "USD", "€": "EUR", "£": "GBP",
    "₩": "KRW", "₹": "INR",
}
_CCY_CODES: tuple[str, ...] = (
    "USD", "CNY", "RMB", "EUR", "GBP", "JPY", "HKD", "TWD", "SGD", "AUD", "CAD",
    "NZD", "CHF", "KRW", "INR", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RUB",
    "BRL", "MXN", "ZAR", "TRY", "THB", "MYR", "IDR", "PHP", "VND", "AED", "SAR",
)
#: Money text → every currency token removed, U+2212 MINUS SIGN → '-'. Codes
#: are removed even inside words: letters left over make the number fail anyway.
_MONEY_TOKENS: dict[str, str] = {
    **{t: "" for t in sorted([*_CCY_SYMBOLS, *_CCY_CODES], key=len, reverse=True)},
    "\u2212": "-",
}
#: Symbols → their code between spaces, so one regex then finds standalone codes.
_SYMBOLS_TO_CODES: dict[str, str] = {s: f" {c} " for s, c in _CCY_SYMBOLS.items()}
_CODE_FIND_RE = rf"(?i)(?:^|[^a-z])({'|'.join(_CCY_CODES)})(?:[^a-z]|$)"

_MISSING_RE = (
    r"(?i)^\s*[$¥€£元]?\s*(?:"
    + "|".join(pl.escape_regex(t) for t in sorted(MISSING_TOKENS, key=len, reverse=True) if t)
    + r")?\s*[$¥€£元]?\s*$"
)


def missing_token_expr(col: IntoCol) -> pl.Expr:
    """True where the cell is blank-like: null, empty, ``-``, ``N/A``, ``null``…

    Lets the caller tell a *missing* value (not a reject) from garbage text (a
    reject). Currency symbols around a dash count as blank too: ``$ -`` is how
    Excel's accounting format renders an empty amount.
    """
    return _named(fold_width_expr(col).str.contains(_MISSING_RE).fill_null(True), col)


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


#: Valid number bodies per decimal mark. Grouping must be real thousands
#: grouping (or Indian lakh grouping ``1,23,456``), so ``12,50`` in a
#: decimal-point column is a reject rather than silently 1250.
_BODY = {
    ".": r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,3}(?:[ '’][0-9]{3})+"
         r"|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3})(?:\.[0-9]*)?|\.[0-9]+",
    ",": r"(?:[0-9]+|[0-9]{1,3}(?:\.[0-9]{3})+|[0-9]{1,3}(?:[ '’][0-9]{3})+)(?:,[0-9]*)?|,[0-9]+",
}
#: After signs are normalised to one leading '-'/'+': a valid number, marked
#: with the 'x' the chain puts in front of every value. Only valid values lose it.
_VALID = {d: rf"^x([+-]?)\s*({b})([eE][+-]?[0-9]+)?$" for d, b in _BODY.items()}
#: Group separators (and spaces) dropped once the value is known to be valid.
_GROUP_CHARS = {".": r"[\s'’,]", ",": r"[\s'’.]"}

# Evidence, read on the value with everything but digits and marks removed.
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


def _money_text(col: IntoCol) -> pl.Expr:
    """Width-folded, currency tokens removed, trimmed; the ``'`` that CSV exporters put before a
    leading ``- + = @`` against formula injection (WooCommerce: ``'-$27.13``) dropped."""
    return (
        fold_width_expr(col)
        .str.replace(r"^\s*'([-+=@])", "${1}")
        .str.replace_many(_MONEY_TOKENS, ascii_case_insensitive=True, leftmost=True)
        .str.strip_chars()
    )


def detect_money_format(values: pl.Series) -> MoneyFormat:
    """Decide decimal comma vs point for a whole money column.

    Strong evidence decides (majority); with none, a lone three-digit group
    written with a point (``1.500``) and never with a comma means a
    decimal-comma column (three-decimal prices are rare, ``1.500`` for 1500 is
    how German and Russian exports write it). With no evidence at all the
    decimal point wins, so ``1,234`` is one thousand two hundred thirty-four.
    """
    return decide_money_format(*money_evidence(values))


def money_evidence_exprs(col: IntoCol, weight: str | None = None) -> list[pl.Expr]:
    """Rows of each kind of decimal-mark evidence in a money column, as four sums
    (point strong, comma strong, point weak, comma weak): the one definition both
    :func:`detect_money_format` and the streaming ingest (batch by batch) count with.
    ``weight``: a column of row counts when the values are a column's distinct values."""
    b = _money_text(col).str.replace_all(r"[^0-9.,]", "")

    def count(pattern: str, name: str) -> pl.Expr:
        hit = b.str.contains(pattern)
        return (hit.cast(pl.Int64) * pl.col(weight) if weight else hit.cast(pl.Int64)).sum().alias(name)

    return [count(_POINT_STRONG, "ps"), count(_COMMA_STRONG, "cs"), count(_POINT_WEAK, "pw"), count(_COMMA_WEAK, "cw")]


def money_evidence(values: pl.Series) -> tuple[int, int, int, int]:
    """(point strong, comma strong, point weak, comma weak) rows of ``values``."""
    counts = pl.DataFrame({"v": values.cast(pl.String)}).select(money_evidence_exprs("v")).row(0)
    ps, cs, pw, cw = (int(x or 0) for x in counts)
    return ps, cs, pw, cw


def decide_money_format(ps: int, cs: int, pw: int, cw: int) -> MoneyFormat:
    """The decimal mark from the evidence counts (see :func:`detect_money_format`)."""
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
    ``NaN``, overflow (``1e309``) and magnitudes above :data:`MAX_MONEY` are null.
    Unbalanced parentheses or two signs (``-5-``, ``(-5)``) are null.

    In a decimal-point column the values of the *short* shape (:data:`SHORT_MONEY_RE`:
    ``1234.5``, ``$1,234.50``, ``-$12``) take a short parse (drop ``$`` and the groups, cast):
    the same number the chain gives them, at a tenth of its cost. Only the other rows run
    the chain (it reads them with the short rows masked to null, which costs nothing).

    The whole rule in one expression. A query over many rows takes it in two steps —
    :func:`money_value_expr`, then :func:`sane_money_expr` on the column it made — because
    Polars' engines evaluate a sub-expression once per *reference*, and the last step names its
    value three times: in one expression the chain ran three times (2M decimal-comma amounts:
    3.5 s instead of 1.2 s).
    """
    return _named(sane_money_expr(money_value_expr(col, fmt)), col)


def money_value_expr(col: IntoCol, fmt: MoneyFormat) -> pl.Expr:
    """:func:`money_expr` but its last step: the general rule's out-of-range, NaN and ±inf values
    are still there and its ``-0.0`` is not yet ``0.0`` — :func:`sane_money_expr` does that."""
    if fmt.decimal == ".":
        c = _col(col)
        short = c.str.contains(SHORT_MONEY_RE)
        fast = pl.when(short).then(c).str.replace_all(r"[$,]", "").cast(pl.Float64, strict=False)
        return _named(pl.coalesce(fast, _money_number(pl.when(~short).then(c), fmt)), col)
    return _named(_money_number(col, fmt), col)


SHORT_MONEY_RE = r"^(?:-\$?|\$-?)?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?$"
"""Money of the short shape: an optional ``-`` and ``$`` (either order), digits plainly or in
groups of three, an optional decimal part. In a decimal-point column :func:`money_expr` reads
it by dropping ``$`` and ``,`` (the chain does the same: the token ``$`` removed, the sign kept,
the groups dropped), and its currency is USD exactly when it holds ``$``
(:func:`money_currency_expr`)."""


POINT_STRONG_SHORT_RE = r"^(?:-\$?|\$-?)?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\.(?:[0-9]{1,2}|[0-9]{4,})$"
"""Short-shape money (:data:`SHORT_MONEY_RE`) with a decimal point and one, two or four-plus
decimals (``$1,234.50``, ``12.5``): point-strong evidence and no other kind in
:func:`money_evidence_exprs` (its digits and marks read ``1,234.50`` or ``12.5``; a lone
three-decimal group, which would be weak comma evidence, is left out)."""


def _money_chain(col: IntoCol, fmt: MoneyFormat) -> pl.Expr:
    """The general money parse of :func:`money_expr` (every shape it accepts), unnamed."""
    return sane_money_expr(_money_number(col, fmt))


def _money_number(col: IntoCol, fmt: MoneyFormat) -> pl.Expr:
    """:func:`_money_chain` but its last step (:func:`sane_money_expr`)."""
    t = (
        _money_text(col)
        .str.replace(r"^\(\s*([^()]*?)\s*\)$", "-${1}")  # (123.45) → -123.45
        .str.replace(r"^([^+\-].*?)\s*-$", "-${1}")  # 123.45- → -123.45
    )
    number = (
        pl.concat_str([pl.lit("x"), t])
        .str.replace(_VALID[fmt.decimal], "${1}${2}${3}")  # valid values lose the 'x'
        .str.replace_all(_GROUP_CHARS[fmt.decimal], "")
    )
    if fmt.decimal == ",":
        number = number.str.replace(",", ".", literal=True)
    return number.cast(pl.Float64, strict=False)


MAX_MONEY = 1e15
"""Amounts (and quantities) beyond ±10^15 are rejected (``bad_amount``): no order is worth a
quadrillion, and ``1e308`` summed with itself is ``inf``, which turned every share into NaN."""


def sane_money_expr(value: pl.Expr) -> pl.Expr:
    """Overflow (``1e309`` casts to ±inf), NaN and absurd magnitudes → null; -0.0 (from "(0)") → 0.0.

    ``value`` is named three times: give it a column (see :func:`money_expr`), not a long chain.

    Element-wise only (comparisons and when/then): ``Expr.replace`` with a mapping makes Polars'
    streaming engine compute the whole query before it hands over the first batch, which held
    every row of a 100M-line file in memory."""
    return pl.when(value.abs() <= MAX_MONEY).then(pl.when(value == 0).then(pl.lit(0.0)).otherwise(value))


#: Currency names that currency columns write instead of ISO codes (币别 人民币, 幣別 新臺幣, 通貨 円).
_CURRENCY_NAMES: dict[str, str] = {
    "人民币": "CNY", "人民幣": "CNY", "RMB": "CNY", "元": "CNY", "¥": "CNY", "￥": "CNY",
    "美元": "USD", "美金": "USD", "US$": "USD", "$": "USD",
    "港币": "HKD", "港幣": "HKD", "港元": "HKD", "HK$": "HKD",
    "新台币": "TWD", "新臺幣": "TWD", "新台幣": "TWD", "台币": "TWD", "臺幣": "TWD", "NT$": "TWD",
    "日元": "JPY", "日圆": "JPY", "円": "JPY", "日本円": "JPY",
    "欧元": "EUR", "歐元": "EUR", "€": "EUR", "英镑": "GBP", "英鎊": "GBP", "£": "GBP",
}


def lookup_expr(key: pl.Expr, table: Mapping[str, str | None], default: pl.Expr | str | None = None) -> pl.Expr:
    """``table[key]`` per row, ``default`` (a value or an expression) where the key is not in the
    table or is null — what ``key.replace_strict(table, default=default)`` computes.

    Element-wise: ``replace``/``replace_strict`` make Polars' streaming engine compute the whole
    query before it hands over the first batch (every row of a file with a status or currency
    column held in memory). Here the key is cast to an Enum of the table's keys (a key not in it
    becomes null) and its code picks the value from the table's values."""
    fallback = default if isinstance(default, pl.Expr) else pl.lit(default, dtype=pl.String)
    if not table:  # every row the default, as many rows as the key has
        return pl.when(key.is_null()).then(fallback).otherwise(fallback)
    keys = sorted(table)
    values = pl.Series([table[k] for k in keys], dtype=pl.String)
    code = key.cast(pl.Enum(keys), strict=False).to_physical()
    return pl.when(code.is_null()).then(fallback).otherwise(pl.lit(values).gather(code))


def currency_code_expr(col: IntoCol) -> pl.Expr:
    """A currency column's cell → ISO code: codes upper-cased (``usd`` → ``USD``), names and
    symbols that exports write (``人民币``, ``新臺幣``, ``円``) mapped; blank → null."""
    t = fold_width_expr(col).str.strip_chars()
    upper = t.str.to_uppercase()
    code = lookup_expr(upper, _CURRENCY_NAMES, default=upper)
    return _named(pl.when(t.str.len_chars() > 0).then(code), col)


def money_currency_expr(col: IntoCol) -> pl.Expr:
    """ISO code of the currency written in a money cell, null when none.

    ``¥ ￥ 元 人民币 RMB`` → CNY, ``$``/``US$`` → USD, ``€`` → EUR, ``£`` → GBP,
    ``HK$`` → HKD…, and three-letter codes standing alone (``USD 5``, ``5 eur``).

    Values of the short money shape (:data:`SHORT_MONEY_RE`) are USD when they hold ``$`` and
    carry no currency otherwise; only the other rows run the token search.
    """
    c = _col(col)
    short = c.str.contains(SHORT_MONEY_RE)
    fast = pl.when(short & c.str.contains("$", literal=True)).then(pl.lit("USD"))
    return _named(pl.coalesce(fast, _currency_search(pl.when(~short).then(c))), col)


def _currency_search(col: IntoCol) -> pl.Expr:
    """The currency token search of :func:`money_currency_expr` (every shape), unnamed."""
    return (
        fold_width_expr(col)
        .str.replace_many(_SYMBOLS_TO_CODES, leftmost=True)
        .str.extract(_CODE_FIND_RE, 1)
        .str.to_uppercase()
        .str.replace(r"^RMB$", "CNY")  # a string rewrite: Expr.replace would stall the streaming engine
    )


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


# Date kinds. They are mutually exclusive (each regex is anchored and needs a
# different shape), so every row is read by at most one of them.
YMD = "ymd"  # 2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日, ISO with time/offset
YMD_COMPACT = "ymd_compact"  # 20240305, 20240305142210
DMY = "dmy"  # 05/03/2024, 05.03.2024, 5-3-24 read day first
MDY = "mdy"  # 3/5/2024 read month first
D_MON_Y = "d_mon_y"  # 5-Mar-2024, 05 March 2024, Tue, 05 Mar 2024
MON_D_Y = "mon_d_y"  # Mar 5, 2024, March 5th 2024, Mar-05-24
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
#: A year as written: four digits in 1900–2199, or two digits (pivoted later).
_Y = r"((?:19|20|21)[0-9]{2}|[0-9]{2})"
_Y4 = r"((?:19|20|21)[0-9]{2})"
_ISO_STRICT_RE = r"^" + _Y4 + r"-[0-9]{2}-[0-9]{2}" + _TIME
#: Per kind: the regex that recognises it, and the template that rewrites a
#: match to "D<year>-<month>-<day>" (month possibly a name, fixed up later).
_FORMS: dict[str, tuple[str, str | None]] = {
    YMD: (r"^" + _Y4 + r"\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?" + _TIME,
          "D${1}-${2}-${3}"),
    YMD_COMPACT: (r"^" + _Y4 + r"([0-9]{2})([0-9]{2})(?:[0-9]{6})?" + _TIME, "D${1}-${2}-${3}"),
    DMY: (r"^([0-9]{1,2})\s*([-/.])\s*([0-9]{1,2})\s*[-/.]\s*" + _Y + _TIME, "D${4}-${3}-${1}"),
    MDY: (r"^([0-9]{1,2})\s*([-/.])\s*([0-9]{1,2})\s*[-/.]\s*" + _Y + _TIME, "D${4}-${1}-${3}"),
    D_MON_Y: (rf"(?i)^{_WEEKDAY}([0-9]{{1,2}})(?:st|nd|rd|th)?[\s\-/.]*({_MON})\.?[\s\-/.,]*"
              + _Y + _TIME, "D${3}-${2}-${1}"),
    # eBay's Mar-05-24 too: a two-digit year needs a separator before it ("May 2024" is no date)
    MON_D_Y: (rf"(?i)^{_WEEKDAY}({_MON})\.?[\s\-/.]*([0-9]{{1,2}})(?:st|nd|rd|th)?(?:,\s*|[\s\-/.]+)"
              + _Y + _TIME, "D${3}-${1}-${2}"),
    # Excel serials 20000 (1954-10-03) … 80000 (2119-01-10); a fraction is the time.
    EXCEL_SERIAL: (r"^([2-7][0-9]{4}|80000)(?:\.[0-9]+)?$", None),
    # Epoch instants 2001-09-09 … 2198: ten digits (seconds) or thirteen (ms).
    EPOCH_SECONDS: (r"^([1-6][0-9]{9}|7[01][0-9]{8})(?:\.[0-9]+)?$", None),
    EPOCH_MILLIS: (r"^([1-6][0-9]{12}|7[01][0-9]{11})$", None),
}
#: Any numeric a/b/year date, for detection before the day/month order is known.
_NUMERIC_RE = r"^([0-9]{1,2})\s*([-/.])\s*([0-9]{1,2})\s*[-/.]\s*([0-9]{4}|[0-9]{2})" + _TIME
_EXCEL_EPOCH = _dt.date(1899, 12, 30)  # serial 60 is Excel's phantom 1900-02-29
_MONTH_NAMES: dict[str, str] = {}
for _i, _names in enumerate(
    (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
     ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sept", "sep"),
     ("october", "oct"), ("november", "nov"), ("december", "dec")), 1):
    for _n in _names:
        _MONTH_NAMES[f"-{_n}-"] = f"-{_i}-"
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%T", "%R", "%r", "%X", "%c", "%p", "%f", "%s")
_TZ_DIRECTIVES = ("%:z", "%#z", "%z", "%Z")


@dataclass(frozen=True)
class DateFormat:
    """Which date layouts a column uses, decided from the whole column.

    ``kinds`` are the parsers applied (most common first); an empty tuple
    parses nothing, so a garbage column is all rejects. ``DMY`` or ``MDY`` is in
    ``kinds`` when numeric ``a/b/Y`` dates occur: the day/month order is ONE
    decision for the column. ``strptime`` is the user's ``--date-format``,
    which replaces detection. ``counts`` is the evidence (rows per kind, plus
    ``day_first_evidence`` / ``month_first_evidence``) for ``custinv inspect``.
    ``iso_strict`` (every value zero-padded ``YYYY-MM-DD…``) enables a faster
    path.
    """

    kinds: tuple[str, ...] = ()
    strptime: str | None = None
    counts: tuple[tuple[str, int], ...] = field(default=())
    iso_strict: bool = False

    @property
    def kind(self) -> str:
        """The main kind, for display (``none`` when nothing parsed)."""
        return self.kinds[0] if self.kinds else "none"


def _prep_date(col: IntoCol) -> pl.Expr:
    return fold_width_expr(col).str.strip_chars()


SAMPLE_LIMIT = 200_000
"""Up to this many values decide a column's format as they are (:func:`decision_sample`)."""


def decision_sample(values: pl.Series, limit: int | None = None) -> pl.Series:
    """The values a column's format is decided from: all of them up to ``limit``; above it, the
    distinct values; above it again, the ``limit`` distinct values of smallest seeded hash (a
    pseudo-random sample).

    A function of the column's values alone (not of their order in the file): the streaming
    reader, which sees the values batch by batch and keeps their distinct values with counts,
    decides from exactly the values the eager reader decides from."""
    limit = SAMPLE_LIMIT if limit is None else limit
    values = values.drop_nulls()
    if values.len() > limit:
        values = values.unique()
        if values.len() > limit:
            values = values.gather(values.hash(seed=0).arg_sort().head(limit))
    return values


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
    forms = {k: rx for k, (rx, _) in _FORMS.items() if k not in (DMY, MDY)}
    forms["numeric"] = _NUMERIC_RE
    counts = frame.select(
        *[pl.col("v").str.contains(rx).sum().alias(k) for k, rx in forms.items()],
        pl.col("v").str.contains(_ISO_STRICT_RE).sum().alias("iso_strict"),
    ).row(0, named=True)
    counts = {k: int(v or 0) for k, v in counts.items()}
    iso_strict = counts.pop("iso_strict")

    extra: list[tuple[str, int]] = []
    if counts["numeric"]:
        kind, extra = _day_month_order(frame, name)
        counts[kind] = counts["numeric"]
    del counts["numeric"]

    seen = tuple(sorted((k for k, n in counts.items() if n > 0), key=lambda k: -counts[k]))
    evidence = tuple((k, counts[k]) for k in seen) + tuple(extra)
    strict = seen == (YMD,) and iso_strict == counts[YMD]
    return DateFormat(kinds=seen, counts=evidence, iso_strict=strict)


def _day_month_order(frame: pl.DataFrame, name: str) -> tuple[str, list[tuple[str, int]]]:
    """DMY or MDY for the numeric a/b/Y values of a column (see detect_date_format)."""
    g = (
        frame.select(pl.col("v").str.extract_groups(_NUMERIC_RE).alias("g"))
        .unnest("g")
        .rename({"1": "a", "2": "sep", "3": "b", "4": "y"})
        .drop_nulls("a")
    )
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
        return (DMY if dfe > mfe else MDY), extra
    if dfe == 0 and (ev["all_dots"] or ev["all_equal"]):
        return DMY, extra
    sample = (
        frame.filter(pl.col("v").str.contains(_NUMERIC_RE))
        .get_column("v").unique(maintain_order=True).head(3).to_list()
    )
    reason = (
        "every value has both fields ≤ 12" if dfe == 0
        else f"{dfe} values read only day-first and {mfe} only month-first"
    )
    raise AmbiguousDateFormat(name, sample, reason)


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
    dates (2024-02-30) and years outside 1900–2199 are null. Two-digit years
    pivot like POSIX ``%y``: 00–68 → 20xx, 69–99 → 19xx.
    """
    short = _short_date(fmt)
    if short is None:
        return _named(_date_expr(_prep_date(col), fmt), col)
    pattern, layout = short
    c = _col(col)
    is_short = c.str.contains(pattern)
    fast = pl.when(is_short).then(c).str.strptime(pl.Date, layout, strict=False)
    return _named(pl.coalesce(fast, _date_expr(_prep_date(pl.when(~is_short).then(c)), fmt)), col)


#: Numeric ``a/b/YYYY`` dates (year 1900–2199) and nothing else around them: one strptime of
#: the column's decided order reads them as the rewrite chain does (single-digit day and month
#: included; two-digit years are left to the chain, whose pivot differs from ``%y``'s).
SHORT_DATE_RE = r"^[0-9]{1,2}/[0-9]{1,2}/(?:19|20|21)[0-9]{2}$"
_SHORT_DATE_LAYOUT = {MDY: "%m/%d/%Y", DMY: "%d/%m/%Y"}


def _short_date(fmt: DateFormat) -> tuple[str, str] | None:
    """(regex of the short shape, its strptime layout) for a column read as one numeric kind."""
    if fmt.strptime or len(fmt.kinds) != 1 or fmt.kinds[0] not in _SHORT_DATE_LAYOUT:
        return None
    return SHORT_DATE_RE, _SHORT_DATE_LAYOUT[fmt.kinds[0]]


def _date_expr(t: pl.Expr, fmt: DateFormat) -> pl.Expr:
    if fmt.strptime:
        return _strptime_expr(t, fmt.strptime)
    if fmt.iso_strict and fmt.kinds == (YMD,):
        # Fast path for the common case: validate with a DFA match, parse the
        # first ten characters. (Reads `t` twice: two cheap fold+trim passes.)
        return (
            pl.when(t.str.contains(_ISO_STRICT_RE)).then(t.str.slice(0, 10))
            .str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        )
    parts: list[pl.Expr] = []
    text_kinds = [k for k in fmt.kinds if _FORMS[k][1] is not None]
    if text_kinds:
        # One chain: each kind rewrites the rows it recognises to
        # "D<y>-<m>-<d>"; rows no kind recognised keep their text and fail the
        # final strptime, whose literal 'D' only rewritten rows carry.
        s = t
        for kind in text_kinds:
            rx, template = _FORMS[kind]
            s = s.str.replace(rx, template)  # type: ignore[arg-type]
        if any(k in (DMY, MDY, D_MON_Y, MON_D_Y) for k in text_kinds):
            # Two-digit years, POSIX %y pivot: 00–68 → 20xx, 69–99 → 19xx.
            s = s.str.replace(r"^D([0-5][0-9]|6[0-8])-", "D20${1}-")
            s = s.str.replace(r"^D(69|[7-9][0-9])-", "D19${1}-")
        if any(k in (D_MON_Y, MON_D_Y) for k in text_kinds):
            s = s.str.replace_many(_MONTH_NAMES, ascii_case_insensitive=True, leftmost=True)
        parts.append(s.str.strptime(pl.Date, "D%Y-%m-%d", strict=False))
    if EXCEL_SERIAL in fmt.kinds:
        n = t.str.extract(_FORMS[EXCEL_SERIAL][0], 1).cast(pl.Int32)
        parts.append(pl.lit(_EXCEL_EPOCH) + pl.duration(days=n))
    epoch_units: tuple[tuple[str, Literal["s", "ms"]], ...] = ((EPOCH_SECONDS, "s"), (EPOCH_MILLIS, "ms"))
    for kind, unit in epoch_units:
        if kind in fmt.kinds:
            n = t.str.extract(_FORMS[kind][0], 1).cast(pl.Int64)
            parts.append(pl.from_epoch(n, time_unit=unit).dt.date())
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

    Trim, NFC, full-width *digits* folded to ASCII (``１２３`` is ``123``), control bytes
    (NUL…) dropped. Full-width letters, zero-width joiners and other marks are kept: they
    make a *different* id (``Ａ1`` and ``A1``, ``A\u200d1`` and ``A1`` may be two customers),
    and folding them merged customers. Excel's
    ``="00123"`` guard and a text-forcing leading apostrophe on digits
    (``'00123``) unwrapped; ``17850.0`` → ``17850`` (a float-mangled integer id:
    only a trailing ``.0…`` on an all-digit id). Case and leading zeros are
    kept, and ids never pass through a number, so 19-digit ids stay exact.
    Blank-like tokens (``-``, ``N/A``, ``null``) are null: a guest written as
    ``-`` must not become one giant customer.

    Most ids are *settled* (:func:`_settled_id`): the rules leave them as they are, and they skip
    them (5M customer names, one in ten not settled: 1.6 → 1.2 s; a regex replace costs per row
    even on the nulls the other rows are given, so the rules' passes still count).
    """
    return _named(_unless_settled(_col(col).cast(pl.String), _id_rules), col)


#: Letters, digits and the CJK Unified Ideographs (basic block and extension A).
_ID_WORD = r"0-9A-Za-z\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}"
_SETTLED_ID_RE = rf"^[{_ID_WORD}](?:[\x20-\x7E\x{{3400}}-\x{{4DBF}}\x{{4E00}}-\x{{9FFF}}]*[{_ID_WORD}])?$"
_FLOAT_ID_RE = r"^[0-9]+\.0+$"


def _settled_id(text: pl.Expr) -> pl.Expr:
    """Is the value one the id rules (_id_rules) return unchanged? Printable ASCII and CJK
    ideographs only, beginning and ending with a letter, digit or ideograph, and neither a
    blank-like token nor a float-mangled integer. Each rule then does nothing: no character is
    folded or dropped; NFC changes none (ASCII and these ideographs have no decomposition and
    compose with nothing); nothing to trim; no ``="…"`` guard or leading apostrophe.
    (Null for a null value: the rules' branch, which keeps it null.)"""
    return text.str.contains(_SETTLED_ID_RE) & ~text.str.contains(_FLOAT_ID_RE) & ~text.str.contains(_MISSING_RE)


def _unless_settled(text: pl.Expr, rules: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """``text`` where it is settled (_settled_id), ``rules`` of it elsewhere — the rules given
    only the unsettled values (the others are null to them)."""
    settled = _settled_id(text)
    return pl.when(settled).then(text).otherwise(rules(pl.when(~settled).then(text)))


def _id_rules(text: pl.Expr) -> pl.Expr:
    """The id rules of :func:`id_expr`, applied to every value."""
    t = (
        text.str.replace_many(_ID_FOLD)
        .str.replace_all(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "")  # invisible control bytes
        .str.normalize("NFC")
        .str.replace(r'^\s*="(.*)"\s*$', "${1}")  # ="00123"
        .str.replace(r"^\s*'([0-9]+)\s*$", "${1}")  # '00123
        .str.strip_chars()
        .str.replace(r"^([0-9]+)\.0+$", "${1}")  # 17850.0
        .str.replace(_MISSING_RE, "")  # blank-like → "" → null
    )
    return empty_to_null(t)


def empty_to_null(text: pl.Expr) -> pl.Expr:
    """``""`` → null, any other value as it is — naming ``text`` once.

    Not ``when(t != "").then(t)``: Polars evaluates an expression once per reference, so that
    ran the whole cleaning chain before it twice (an email column 0.42 → 0.24 s per 500k rows).
    Not ``Expr.replace("", None)`` either: a mapping replace makes the streaming engine compute
    the whole query before its first batch (see sane_money_expr). An extract of the whole value
    is null exactly when there is none."""
    return text.str.extract(r"(?s)^(.+)$")


def email_expr(col: IntoCol) -> pl.Expr:
    """An email as an id: full-width folded (an address typed with a Chinese IME is the ASCII
    address — full-width letters are not valid in one), then :func:`id_expr`, case-folded.
    A settled value (_settled_id) is only case-folded: the width fold leaves ASCII and CJK
    ideographs as they are."""
    return _named(_unless_settled(_col(col).cast(pl.String), _email_rules).str.to_lowercase(), col)


def _email_rules(text: pl.Expr) -> pl.Expr:
    """The width fold, then the id rules (email_expr's, before the case fold)."""
    return _id_rules(fold_width_expr(text))


# ---------------------------------------------------------------------------
# Plain columns: the fast path for machine-written exports
# ---------------------------------------------------------------------------
# Most big exports are machine-written: ids like C00086611, amounts like 13.82, ISO dates.
# For such a column the general parsers above are the identity (ids), a float cast
# (amounts) or one strptime (dates) — but they still run a dozen string rewrites per row.
# Each check below proves, with ONE regex over the whole column (not a sample), that every
# value is of that plain shape, and the caller then applies the short expression, which
# gives exactly what the general one would on those values.

_PLAIN_ID_RE = r"^#?[0-9A-Za-z][0-9A-Za-z_-]*$"  # '#': Shopify's order names (#1001); no blank-like token starts so
_MISSING_WORD_RE = r"(?i)^(?:na|nan|nil|none|null)$"  # the alphanumeric MISSING_TOKENS
PLAIN_MONEY_RE = r"^-?[0-9]+(?:\.[0-9]+)?$"
"""The plain money shape (:func:`money_is_plain`): a float cast reads it."""
PLAIN_DATE_RE = r"^(?:19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
"""The plain date shape (:func:`dates_are_plain`): one strptime reads it."""


def _all_match(values: pl.Series, pattern: str) -> bool:
    """True when every non-null value matches (nulls are blanks, handled by the caller)."""
    return bool(values.str.contains(pattern).all())


def ids_are_plain(values: pl.Series) -> bool:
    """Every value is ASCII letters/digits (plus ``_`` ``-`` after the first, and a leading
    ``#``) and none is a blank-like word (``null``, ``N/A``…): :func:`id_expr` returns such
    values unchanged.

    ``values`` are the column's trimmed, blank-to-null raw text."""
    return _all_match(values, _PLAIN_ID_RE) and not bool(values.str.contains(_MISSING_WORD_RE).any())


def money_is_plain(values: pl.Series, fmt: MoneyFormat) -> bool:
    """Every value is ``-?digits[.digits]`` in a decimal-point column: :func:`money_expr` is
    then a float cast (see :func:`plain_money_expr`)."""
    return fmt.decimal == "." and _all_match(values, PLAIN_MONEY_RE)


def plain_money_expr(col: IntoCol) -> pl.Expr:
    """:func:`money_expr` for a column :func:`money_is_plain` accepted: the same cast and the
    same overflow/−0 handling, without the rewrites (a plain value carries no currency)."""
    return _named(sane_money_expr(plain_money_value_expr(col)), col)


def plain_money_value_expr(col: IntoCol) -> pl.Expr:
    """:func:`plain_money_expr` but its last step (:func:`sane_money_expr`): the cast."""
    return _named(_col(col).cast(pl.Float64, strict=False), col)


def dates_are_plain(values: pl.Series) -> bool:
    """Every value is ``YYYY-MM-DD`` with a year 1900–2199 (the strict ISO kind without time)."""
    return _all_match(values, PLAIN_DATE_RE)


def plain_date_expr(col: IntoCol) -> pl.Expr:
    """:func:`date_expr` for a column :func:`dates_are_plain` accepted: one strptime
    (impossible dates such as 2024-02-30 are null, as in the general path)."""
    return _named(_col(col).str.strptime(pl.Date, "%Y-%m-%d", strict=False), col)
