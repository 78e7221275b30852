"""Sniffing: how a text export is laid out, decided from a small sample.

Everything here works on the first ~1 MiB of a file (bytes or decoded text) so that a
10M-row export costs the same to sniff as a 10-row one; the bulk read is left to Polars
(see readers.py). Also here: the structural-row rule (report footers and repeated header
lines), the one place that decides which data rows are not data.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import polars as pl

HeaderScorer = Callable[[list[str]], float]

SAMPLE_BYTES = 1 << 20
HEADER_SEARCH_ROWS = 30
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
# Tried in this order when there is no BOM; earlier wins a tie on header score.
#: Tried in order on a BOM-less file; every one that decodes the sample strictly is scored by how
#: well its header matches known fields (ties: the earlier one). Big5 (cp950, Traditional Chinese
#: Windows) and Shift_JIS (cp932, Japanese Windows) come last: their byte ranges overlap GBK's, so
#: they win only when their reading of the header names known columns (訂單編號, 注文番号).
FALLBACK_ENCODINGS: tuple[str, ...] = ("utf-8", "gb18030", "cp1252", "cp950", "cp932")

_BOMS: tuple[tuple[bytes, str], ...] = (
    # utf-32 before utf-16: the utf-32-le BOM starts with the utf-16-le one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Magic numbers of files people rename to .csv by mistake (or export under the wrong name).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old-style .xls / OLE document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


def detect_bom(head: bytes) -> tuple[str | None, int]:
    """Return (encoding, BOM length) when the bytes start with a Unicode BOM."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom)
    return None, 0


def guess_bomless_utf16(sample: bytes) -> str | None:
    """UTF-16 without a BOM shows up as NUL in every other byte of ASCII-heavy text.

    Checked before the NUL-means-binary rule, so such a file is read, not refused.
    """
    n = len(sample) - len(sample) % 2
    if n < 8:
        return None
    even, odd = sample[0:n:2], sample[1:n:2]
    half = n // 2
    if odd.count(0) > 0.6 * half and even.count(0) < 0.05 * half:
        return "utf-16-le"
    if even.count(0) > 0.6 * half and odd.count(0) < 0.05 * half:
        return "utf-16-be"
    return None


def binary_reason(sample: bytes) -> str | None:
    """Why a (non-UTF-16/32) sample is not text, or None when it looks like text."""
    for magic, what in _MAGIC:
        if sample.startswith(magic):
            return f"it is {what}, not a text file"
    nul = sample.find(b"\x00")
    if nul >= 0:
        line = sample.count(b"\n", 0, nul) + 1
        return f"it contains NUL bytes (first at byte {nul}, line {line}); binary or corrupt data"
    return None


def trim_to_line(sample: bytes, complete: bool) -> bytes:
    """Cut a truncated sample after its last line break so no character is split."""
    if complete:
        return sample
    cut = max(sample.rfind(b"\n"), sample.rfind(b"\r"))
    return sample[: cut + 1] if cut >= 0 else sample


def strict_decodings(sample: bytes, encodings: Sequence[str] = FALLBACK_ENCODINGS) -> list[tuple[str, str]]:
    """Every (encoding, text) in which the sample decodes strictly (never replaces bytes)."""
    out: list[tuple[str, str]] = []
    for enc in encodings:
        try:
            out.append((enc, sample.decode(enc)))
        except UnicodeDecodeError:
            continue
    return out


_CJK = r"[\u3400-\u9fff]"
_CJK_OR_KANA = r"[\u3040-\u30ff\u3400-\u9fff\uff61-\uff9f]"  # ideographs, kana, half-width katakana
_CJK_IN_LATIN_WORD = re.compile(rf"(?<=[A-Za-z]){_CJK_OR_KANA}|{_CJK_OR_KANA}(?=[A-Za-z])")
_HIGH = re.compile(r"[^\x00-\x7f]")
_HIGH_RUN = re.compile(r"[^\x00-\x7f]{2,}")


def plausible(encoding: str, text: str) -> bool:
    """Whether a strict decoding reads like real text of that encoding's languages.

    GB18030 also decodes most Latin-1 byte strings ("Straße" → "Stra" + a CJK character),
    and CP1252 decodes some GBK text into runs of symbols ("¿Í»§"). So, when several
    encodings decode a sample: Chinese whose ideographs mostly sit glued to Latin letters is
    a misread, and so is CP1252 whose accented characters mostly come in runs.
    """
    if encoding in ("gb18030", "cp950", "cp932"):
        cjk = len(re.findall(_CJK_OR_KANA, text))
        return cjk == 0 or len(_CJK_IN_LATIN_WORD.findall(text)) <= 0.5 * cjk
    if encoding == "cp1252":
        high = len(_HIGH.findall(text))
        return high == 0 or sum(len(m) for m in _HIGH_RUN.findall(text)) <= 0.5 * high
    return True


def line_break(text: str) -> str:
    """The physical line terminator: LF (covers CRLF) unless the text only uses CR."""
    if "\n" in text or "\r" not in text:
        return "\n"
    return "\r"


@dataclass(frozen=True)
class Record:
    """One CSV record of the sample with the physical lines it spans (1-based, inclusive)."""

    first_line: int
    last_line: int
    cells: list[str]

    @property
    def blank(self) -> bool:
        return all(not c.strip() for c in self.cells)


def _physical_lines(text: str, eol: str) -> Iterator[str]:
    """Lines with their terminator kept, so csv sees quoted line breaks as data."""
    parts = text.split(eol)
    for i, part in enumerate(parts):
        if i < len(parts) - 1:
            yield part + eol
        elif part:
            yield part


def parse_records(text: str, delimiter: str, *, limit: int | None = None) -> list[Record]:
    """Parse the sample with the csv module, keeping each record's physical line span.

    Blank records are kept (marked by `.blank`) so callers see real line numbers; a final
    record cut by the end of the sample may be incomplete, callers only look at the head.
    """
    eol = line_break(text)
    lines = _physical_lines(text, eol)
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', doublequote=True, strict=False)
    records: list[Record] = []
    prev = 0
    try:
        for row in reader:
            records.append(Record(prev + 1, reader.line_num, row))
            prev = reader.line_num
            if limit is not None and len(records) >= limit:
                break
    except csv.Error:
        pass  # an unterminated quote at the sample's cut: the head we need is already parsed
    return records


def sniff_delimiter(text: str, candidates: Sequence[str] = DELIMITERS, rows: int = 200) -> str:
    """Pick the delimiter that gives the most consistent width > 1 across the sample's records.

    Parsing with quotes respected (not counting raw characters) keeps "Smith, John" from
    voting for the comma in a semicolon file. Title lines lower every candidate equally.
    Ties go to the wider split, then to the candidate order.
    """
    best: tuple[float, int, int] = (-1.0, 0, 0)
    choice = candidates[0]
    for order, d in enumerate(candidates):
        recs = [r for r in parse_records(text, d, limit=rows) if not r.blank]
        if not recs:
            continue
        widths = Counter(len(r.cells) for r in recs)
        width, count = max(widths.items(), key=lambda kv: (kv[1], kv[0]))
        consistency = count / len(recs) if width > 1 else 0.0
        key = (consistency, width, -order)
        if key > best:
            best, choice = key, d
    return choice


_NUMBERISH = re.compile(r"^[\s\-+(]*[¥$€£]?\s*[\d][\d.,\s:/\-]*\)?%?$")
_DATEISH = re.compile(r"^\d{1,4}[-/.年]\d{1,2}[-/.月]\d{1,4}")


def default_header_score(cells: list[str]) -> float:
    """Count cells that look like column labels: short text, not a number, date or email.

    The integrator passes a scorer that matches known field synonyms; this one stands in
    for it in tests and when nothing better is given.
    """
    score = 0.0
    seen: set[str] = set()
    for raw in cells:
        c = raw.strip()
        if not c or len(c) > 40 or c in seen or "@" in c:
            continue
        seen.add(c)
        if _NUMBERISH.match(c) or _DATEISH.match(c):
            continue
        score += 1.0
    return score


def find_header(records: Sequence[Record], score: HeaderScorer, search: int = HEADER_SEARCH_ROWS) -> int | None:
    """Index (into `records`) of the header record, or None when there is no non-blank record.

    The first record with the best positive score among the first `search` non-blank
    records; when nothing scores, the first record as wide as the modal width (title
    lines are narrower than the table under them).
    """
    candidates = [i for i, r in enumerate(records) if not r.blank][:search]
    if not candidates:
        return None
    scores = [score([c.strip() for c in records[i].cells]) for i in candidates]
    top = max(scores)
    if top > 0:
        return candidates[scores.index(top)]
    widths = Counter(_width(records[i].cells) for i in candidates)
    modal = max(widths.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return next(i for i in candidates if _width(records[i].cells) == modal)


def _width(cells: Sequence[str]) -> int:
    """Cells up to the last non-empty one (trailing empty cells do not make a row wider)."""
    n = len(cells)
    while n and not cells[n - 1].strip():
        n -= 1
    return n


def column_names(cells: Sequence[str]) -> list[str]:
    """Header cells → unique column names: trimmed, empty → column_<n>, repeats → Total_2, Total_3.

    Linear: each base name remembers the next suffix to try (a header of 20,000 equal names
    once took minutes, retrying _2, _3 … from the start for every repeat)."""
    names: list[str] = []
    used: set[str] = set()
    next_suffix: dict[str, int] = {}
    for i, raw in enumerate(cells, start=1):
        base = raw.strip().lstrip("\ufeff").strip() or f"column_{i}"
        name, k = base, next_suffix.get(base, 2)
        while name in used:
            name, k = f"{base}_{k}", k + 1
        next_suffix[base] = k
        used.add(name)
        names.append(name)
    return names


# --- structural rows: report footers and repeated header lines -------------------------------

_TOTAL_WORDS = (
    r"(?:grand\s+|sub\s*-?\s*)?totals?|sum|合计|合計|总计|總計|小计|小計|总和|汇总|彙總|共计|共計"
)
# A first cell that is only a total label, optionally "(12 records)" / "：" / "- all".
_TOTAL_LABEL = re.compile(
    rf"(?i)^\s*(?:{_TOTAL_WORDS})\s*(?:\(\s*\d[\d,]*\s*(?:records?|rows?|items?|条|行)?\s*\))?\s*[:：]?\s*$"
)
# Lines a report writer adds below the table; they stand alone in their row.
_BANNER = (
    r"(?i)^\s*(?:copyright\b|©|\(c\)\s*\d{4}|all rights reserved|confidential\b|"
    r"generated\s+(?:by|on|at)\b|report generated|exported\s+(?:by|on|at)\b|printed\s+(?:by|on)\b|"
    r"run\s+(?:by|on|date)\b|制表|导出时间|導出時間|打印时间|打印時間|生成时间|生成時間|版权|版權)"
)
_NUMERIC_CELL = (
    r"^\s*[-+(]?\s*(?:[¥$€£]|USD|CNY|RMB|EUR|GBP)?\s*[-+]?\d[\d,.\s\u00a0']*\)?\s*(?:%|元|USD|CNY|RMB|EUR)?\s*$"
)


def classify_structural_rows(columns: Sequence[str], header_cells: Sequence[str] | None = None) -> pl.Expr:
    """A String code per row: "footer", "repeated_header" or null (an ordinary row).

    Whole-value and shape based, never substring: a footer is
    - a total label alone in its first non-empty cell ("Grand Totals (12 records)", "Total",
      "合计") with every other non-empty cell a bare number — a customer called
      "Total Wine & More", or called "Total" with a real date, stays data;
    - a banner line (copyright/©, "Confidential Information - Do Not Distribute",
      "Generated by …") that is the only non-empty cell of its row;
    - any single-cell row after the first footer (report name, company line under it).
    A repeated header is a row whose cells equal the header's in every named column.
    Expects the rows in file order (it looks back for an earlier footer).
    """
    cols = [c for c in columns if not c.startswith("__")]
    if not cols:
        return pl.lit(None, dtype=pl.String)
    filled = [pl.col(c).is_not_null() & pl.col(c).str.contains(r"\S") for c in cols]
    n_filled = pl.sum_horizontal(filled)
    n_numeric = pl.sum_horizontal(
        [f & pl.col(c).str.contains(_NUMERIC_CELL) for f, c in zip(filled, cols, strict=True)]
    )
    first = pl.coalesce([pl.when(f).then(pl.col(c)) for f, c in zip(filled, cols, strict=True)])
    total_row = first.str.contains(_TOTAL_LABEL.pattern) & (n_numeric == n_filled - 1)
    banner_row = first.str.contains(_BANNER) & (n_filled == 1)
    strong = (total_row | banner_row).fill_null(False)
    after_footer = strong.cast(pl.Int8).cum_max().cast(pl.Boolean) & (n_filled == 1)
    footer = strong | after_footer

    repeated: pl.Expr = pl.lit(False)
    if header_cells is not None:
        named = [(c, h) for c, h in zip(cols, header_cells, strict=False) if h.strip()]
        if named:
            repeated = pl.all_horizontal(
                [pl.col(c).str.strip_chars().eq(h.strip()).fill_null(False) for c, h in named]
            )
    return (
        pl.when(repeated)
        .then(pl.lit("repeated_header"))
        .when(footer)
        .then(pl.lit("footer"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def structural_candidates(columns: Sequence[str], header_cells: Sequence[str] | None = None) -> pl.Expr:
    """Rows classify_structural_rows could flag, and more: the first column empty, a total or
    banner label or the header's first cell (one regex), or at most one non-null cell.

    A superset found from one column and null counts, so the full rule runs on few rows; the
    eager reader and the streaming ingest both take their candidates from here."""
    c0 = pl.col(columns[0])
    head0 = (header_cells[0] if header_cells else "").strip()
    header = rf"|^\s*{re.escape(head0)}\s*$" if head0 else ""
    return (
        c0.is_null()
        | c0.str.contains(rf"^\s*$|{_TOTAL_LABEL.pattern}|{_BANNER}{header}")
        | (pl.sum_horizontal([pl.col(c).is_not_null() for c in columns]) <= 1)
    ).fill_null(True)


def _single_cell(cols: Sequence[str]) -> pl.Expr:
    return pl.sum_horizontal([pl.col(c).is_not_null() & pl.col(c).str.contains(r"\S") for c in cols]) == 1


def _footer_runs(codes: pl.DataFrame, pos: str) -> pl.DataFrame:
    """A run of consecutive single-cell rows that holds a footer is footer throughout: a report
    name line just above ``Copyright …`` (Salesforce) belongs to the footer block, not the data."""
    singles = codes.filter(pl.col("__single__"))
    if singles.height == 0:
        return codes
    run = (pl.col(pos) - pl.int_range(pl.len())).alias("__run__")  # consecutive positions share it
    in_footer = (
        singles.with_columns(run)
        .with_columns((pl.col("structural") == "footer").fill_null(False).any().over("__run__").alias("__in__"))
        .filter(pl.col("__in__") & pl.col("structural").is_null())
        .select(pos)
    )
    if in_footer.height == 0:
        return codes
    return codes.with_columns(
        pl.when(pl.col(pos).is_in(in_footer[pos].implode())).then(pl.lit("footer"))
        .otherwise(pl.col("structural")).alias("structural")
    )


def structural_row_codes(frame: pl.DataFrame, header_cells: Sequence[str] | None = None) -> pl.Series:
    """classify_structural_rows for an eager frame, fast: the full rule runs only on candidates.

    Candidates are rows whose first column is empty, a total/banner label or the header's
    first cell, or rows with at most one non-null cell — a superset of what the rule can
    flag, found from one column and null counts, so a 10M-row table pays almost nothing.
    Returns a String Series aligned with `frame` (name "structural").
    """
    cols = [c for c in frame.columns if not c.startswith("__")]
    if not cols or frame.height == 0:
        return pl.Series("structural", [None] * frame.height, dtype=pl.String)
    candidate = structural_candidates(cols, header_cells)
    pos = "__structural_pos__"
    indexed = frame.select(cols).with_row_index(pos)
    codes = structural_codes(indexed.filter(candidate), pos, cols, header_cells)
    out = indexed.select(pos).join(codes, on=pos, how="left", maintain_order="left")
    return out["structural"]


def structural_codes(rows: pl.DataFrame, pos: str, cols: Sequence[str],
                     header_cells: Sequence[str] | None = None) -> pl.DataFrame:
    """(``pos``, ``structural``) of the structural rows among ``rows`` — candidate rows in file
    order, ``pos`` a position that grows by exactly 1 between rows with no other row between
    them (a footer's run of single-cell rows, see _footer_runs, is told by it). One rule for
    the eager reader (positions in the table) and the streaming readers (from line numbers)."""
    codes = rows.select(pl.col(pos), classify_structural_rows(cols, header_cells).alias("structural"),
                        _single_cell(cols).alias("__single__"))
    return _footer_runs(codes, pos).filter(pl.col("structural").is_not_null()).drop("__single__")
