"""Readers: a path in, the raw table out — every column text, every row with its line number.

Type inference never happens here (row 50,000 must not be decided by row 1); parsing is
parse.py's job. CSV goes through Polars' native reader; Python only sniffs a ~1 MiB sample
and, for files that are not UTF-8 (or use bare CR line ends), transcodes to a temporary
UTF-8 file first, strictly, so nothing is ever replaced silently.
"""

from __future__ import annotations

import codecs
import glob
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, NamedTuple, TypeVar

import polars as pl

from custinv.errors import DataError, InputError
from custinv.ingest import sniff
from custinv.ingest.sniff import HeaderScorer, Record

Format = Literal["csv", "xlsx", "parquet", "json", "ndjson", "postgresql", "mysql", "sqlite", "duckdb"]

LINE = "__line__"
RAGGED = "__ragged__"
_IDX = "__idx__"
_CHUNK = 16 << 20


class UnreadableInput(InputError):
    """An input is missing or cannot be opened (exit 66)."""


class BadInput(DataError):
    """An input opens but is not a table we can read: binary, undecodable, bad sheet (exit 65)."""


class ColumnType(NamedTuple):
    """A database column's type: the database's name for it, and its kind (date / number /
    text / boolean / other) — see custinv.ingest.sources.sqltypes."""

    sql: str
    kind: str


@dataclass
class RawTable:
    """One file (or database table / query) as read: text columns plus how it was read."""

    frame: pl.DataFrame | pl.LazyFrame
    path: Path | str  # str: a database source, shown without secrets
    format: Format
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    header_row: int | None
    rows_read: int
    skipped_blank: int
    notes: list[str] = field(default_factory=list)
    header_cells: list[str] = field(default_factory=list)  # raw header cells, for repeated-header checks
    warnings: list[str] = field(default_factory=list)  # decisions taken on weak evidence (sheet, header rows)
    column_types: dict[str, ColumnType] = field(default_factory=dict)  # database sources only

    @property
    def columns(self) -> list[str]:
        """The data columns (without __line__ / __ragged__)."""
        return [c for c in self.frame.collect_schema().names() if c not in (LINE, RAGGED)]

    def structural_rows(self) -> pl.Expr:
        """Footer / repeated-header code per row, as an expression over this table's frame.

        For an eager frame the codes are computed up front with the candidate-filtered
        structural_row_codes (~30x faster than the row-wise rule on every row) and returned
        as a literal Series: valid for `self.frame` as read (same rows, same order).
        """
        if isinstance(self.frame, pl.DataFrame):
            return pl.lit(sniff.structural_row_codes(self.frame, self.header_cells))
        return sniff.classify_structural_rows(self.columns, self.header_cells)


# --- inputs ---------------------------------------------------------------------------------

_GLOB_CHARS = set("*?[")


def expand_inputs(patterns: list[str]) -> list[Path]:
    """Files and globs → existing files, in the order given (globs sorted), without repeats."""
    out: list[Path] = []
    seen: set[Path] = set()
    for pattern in patterns:
        if _GLOB_CHARS & set(pattern):
            matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
            if not matches:
                raise UnreadableInput(f"no file matches {pattern}", hint="check the pattern and the folder")
        else:
            p = Path(pattern)
            if not p.exists():
                raise UnreadableInput(f"{pattern}: no such file")
            if p.is_dir():
                raise UnreadableInput(f"{pattern} is a folder", hint=f"pass files or a glob such as {pattern}/*.csv")
            matches = [p]
        for m in matches:
            key = m.resolve()
            if key not in seen:
                seen.add(key)
                out.append(m)
    return out


def detect_format(path: Path) -> Format:
    """Format from the name, and for .json from the first byte (array vs one object per line)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".xls":
        raise BadInput(f"{path}: old .xls workbooks are not supported", hint="save it as .xlsx or .csv")
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".ndjson", ".jsonl"):
        return "ndjson"
    if suffix == ".json":
        with path.open("rb") as f:
            head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        return "json" if head.startswith(b"[") else "ndjson"
    return "csv"


def read_table(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
    header_score: HeaderScorer | None = None,
) -> RawTable:
    """Read one file into a RawTable (eager DataFrame, all String, plus __line__ and __ragged__)."""
    path = Path(path)
    _check_readable(path)
    score = header_score or sniff.default_header_score
    fmt = detect_format(path)
    try:
        if fmt == "xlsx":
            return _read_xlsx(path, sheet, header_row, score)
        if fmt == "parquet":
            try:
                check_column_count(path, len(pl.read_parquet_schema(path)))
            except (pl.exceptions.PolarsError, OSError) as e:
                raise BadInput(f"{path}: cannot read as parquet ({e})") from e
            return _read_records(path, fmt, pl.read_parquet)
        if fmt in ("json", "ndjson"):
            return _read_records(path, fmt, _json_reader(fmt))
        return _read_csv(path, encoding, delimiter, header_row, score)
    except PermissionError as e:
        raise UnreadableInput(f"{path}: permission denied") from e


MAX_COLUMNS = 4096
"""More columns than this is not an order export (Excel itself stops at 16,384): refusing
early bounds the memory a tiny hostile file could claim (100,000 columns needed 3 GB)."""


def check_column_count(path: Path, columns: int) -> None:
    if columns > MAX_COLUMNS:
        raise BadInput(f"{path}: {columns:,} columns; custinv reads at most {MAX_COLUMNS:,}",
                       hint="export only the columns you need (order id, customer, date, amount, …)")


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise UnreadableInput(f"{path}: no such file")
    if path.is_dir():
        raise UnreadableInput(f"{path} is a folder", hint="pass a file")
    if not os.access(path, os.R_OK):
        raise UnreadableInput(f"{path}: permission denied")


# --- csv ----------------------------------------------------------------------------------------


@dataclass
class _Decoded:
    encoding: str
    text: str  # the decoded sample
    delimiter: str
    records: list[Record]
    header: int | None  # index into records
    score: float


@dataclass
class _CsvLayout:
    """What sniffing a CSV decided: encoding, delimiter, header, line ends, column names."""

    path: Path
    best: _Decoded
    candidates: list[str]
    eol: str
    names: list[str]
    notes: list[str]

    @property
    def header(self) -> Record:
        assert self.best.header is not None
        return self.best.records[self.best.header]

    @property
    def blank_above(self) -> int:
        assert self.best.header is not None
        return sum(1 for r in self.best.records[: self.best.header] if r.blank)

    def dropped_warning(self, header_row: int | None) -> list[str]:
        assert self.best.header is not None
        if header_row is not None:
            return []
        return dropped_rows_warning(self.path, self.best.records[: self.best.header], self.header.cells, "line")


def _sniff_csv(
    path: Path, encoding: str | None, delimiter: str | None, header_row: int | None, score: HeaderScorer
) -> _CsvLayout | RawTable:
    """Sniff a CSV's sample; an empty or header-less file comes back as its (empty) RawTable."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(sniff.SAMPLE_BYTES)
    complete = len(head) >= size
    notes: list[str] = []
    if size == 0:
        return _empty(path, "csv", None, None, 0, ["empty file"])

    candidates = _encoding_candidates(path, head, encoding, notes)
    decoded: list[_Decoded] = []
    for enc in candidates:
        text = _decode_sample(head, enc, complete)
        if text is None and enc == "utf-8" and encoding is None:
            text = _mostly_utf8_sample(head, complete)
            if text is not None:  # UTF-8 with a few foreign lines: never re-decode it all (see _bulk_read)
                found = _sniff_text(enc, text, delimiter, header_row, score)
                if found is not None:
                    decoded = [found]
                    break
        if text is not None and all(text != d.text for d in decoded):  # same text, same verdict: keep the first
            found = _sniff_text(enc, text, delimiter, header_row, score)
            if found is not None:
                decoded.append(found)
    if not decoded:
        raise BadInput(
            f"{path}: the text is neither UTF-8, GB18030, CP1252, Big5 (cp950) nor Shift_JIS (cp932)",
            hint="pass --encoding with the file's encoding",
        )
    # Plausible text first, then the header score; max keeps the first (preferred) on ties.
    best = max(decoded, key=lambda d: (len(decoded) == 1 or sniff.plausible(d.encoding, d.text), d.score))
    if len(decoded) > 1:
        notes.append(
            "encoding chosen by header match among " + ", ".join(d.encoding for d in decoded) + f": {best.encoding}"
        )
    if best.header is None:
        blanks = sum(1 for r in best.records if r.blank)
        return _empty(path, "csv", best.encoding, best.delimiter, blanks, notes + ["no header: only blank lines"])

    header = best.records[best.header]
    above = header.first_line - 1
    if above and header_row is None:
        titled = sum(1 for r in best.records[: best.header] if not r.blank)
        notes.append(f"{titled} title line(s) above the header (line {header.first_line})")
    eol = sniff.line_break(best.text)
    if eol == "\r":
        notes.append("CR line endings")
    if best.delimiter != ",":
        notes.append(f"delimiter {best.delimiter!r}")
    check_column_count(path, len(header.cells))
    return _CsvLayout(path, best, candidates, eol, sniff.column_names(header.cells), notes)


def _read_csv(
    path: Path, encoding: str | None, delimiter: str | None, header_row: int | None, score: HeaderScorer
) -> RawTable:
    layout = _sniff_csv(path, encoding, delimiter, header_row, score)
    if isinstance(layout, RawTable):
        return layout
    best, header, names, notes = layout.best, layout.header, layout.names, layout.notes
    frame, used_encoding = _bulk_read(
        path, best.encoding, layout.candidates, layout.eol, header.last_line, names, best.delimiter, notes
    )
    frame, blank = _finish(frame, names, header.last_line)
    warnings = layout.dropped_warning(header_row)
    return RawTable(
        frame=frame,
        path=path,
        format="csv",
        encoding=used_encoding,
        delimiter=best.delimiter,
        sheet=None,
        header_row=header.first_line,
        rows_read=frame.height,
        skipped_blank=blank + layout.blank_above,
        notes=notes,
        header_cells=list(header.cells),
        warnings=warnings,
    )


@dataclass
class CsvScan:
    """A plain UTF-8 CSV as a lazy scan (see :func:`scan_plain_csv`).

    ``frame`` has the data columns (all String) plus ``__line__`` and ``__ragged__``, blank
    rows already filtered out — the same rows and values :func:`read_table` gives, not read yet.
    ``table`` is the RawTable describing the file, with an empty frame of the same columns
    (its row counts are filled in by whoever collects the scan).
    """

    frame: pl.LazyFrame
    names: list[str]
    cells: list[str]  # names plus the spare columns ragged rows spill into
    table: RawTable
    skip: int  # physical lines above the first data row
    #: Parquet: the columns whose values can be taken as they are typed (TYPED_KINDS) and their
    #: dtypes; ``typed_frame`` is ``frame`` with these columns left typed (see frame_keeping)
    typed: dict[str, pl.DataType] = field(default_factory=dict)
    typed_frame: pl.LazyFrame | None = None
    #: a file in another encoding is scanned from a UTF-8 copy (``table`` still names the file
    #: and its encoding); the caller removes it with :meth:`discard` once the rows are read
    temporary: Path | None = None
    #: ``__line__`` counts the line breaks inside quoted cells (see counting_line_breaks)
    counts_line_breaks: bool = False
    #: with counts_line_breaks: ``frame`` before the count was added (see head)
    uncounted: pl.LazyFrame | None = None

    @property
    def scanned(self) -> Path:
        """The file the scan reads: the UTF-8 copy, or the file itself."""
        return self.temporary or Path(self.table.path)

    def discard(self) -> None:
        """Remove the UTF-8 copy, if any (the scan cannot be collected afterwards)."""
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)
            self.temporary = None

    def frame_keeping(self, keep: set[str]) -> pl.LazyFrame:
        """``frame`` with the columns in ``keep`` (of ``typed``) as typed and the others as text:
        a query that reads a typed column as it is skips its text form (projection pushdown
        reads the Parquet column once, for the form the query uses)."""
        if not keep or self.typed_frame is None:
            return self.frame
        return self.typed_frame.with_columns(text_exprs({c: d for c, d in self.typed.items() if c not in keep}))

    def without_lines(self, lines: list[int]) -> pl.LazyFrame:
        """The frame without the given lines (the blank rows, found by the caller)."""
        if not lines:
            return self.frame
        return self.frame.filter(~pl.col(LINE).is_in(pl.Series(lines, dtype=pl.Int64).implode()))

    def blank_lines(self, rows: pl.DataFrame) -> list[int]:
        """Lines of the blank rows among ``rows`` (rows of the frame, with every cell)."""
        return rows.filter(pl.all_horizontal([~_filled(c) for c in self.cells]))[LINE].to_list()

    def physical_rows(self) -> int:
        """Data lines of the file, for the line-break check (see scan_plain_csv)."""
        return count_lines(self.scanned) - self.skip

    def rows_are_lines(self, rows: int) -> bool:
        """Are the line numbers right for ``rows`` (every row read, blank ones included)? Yes
        when they count the quoted line breaks, else when the rows are the file's data lines, one
        each — no quoted cell holds a line break. A file without a quote character cannot hold
        one: one memchr-speed search answers that without counting the lines. Records of a
        Parquet file are numbered by position: always one row each."""
        if self.counts_line_breaks or self.table.format != "csv" or not contains_byte(self.scanned, b'"'):
            return True
        return rows == self.physical_rows()

    def counting_line_breaks(self) -> CsvScan:
        """This scan with line numbers that count the line breaks inside quoted cells of the
        rows above (an order note typed over two lines), as :func:`read_table` numbers them.
        The scan's copy, if any, stays this scan's to discard."""
        if self.counts_line_breaks:
            return self
        return replace(self, frame=self._counted(self.frame), counts_line_breaks=True, uncounted=self.frame)

    def _counted(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        return frame.with_columns((pl.col(LINE) + line_breaks_above(self.cells)).alias(LINE))

    def head(self, rows: int) -> pl.LazyFrame:
        """``frame``'s first ``rows`` rows, read from the file's first rows. The count of line
        breaks is a running sum, which a head taken above it does not reach: ``frame.head(n)``
        of a counting scan read and counted the whole file (every cell of every row) for the
        first rows; the running sum of the first rows is the same sum, so it is added after."""
        if self.counts_line_breaks and self.uncounted is not None:
            return self._counted(self.uncounted.head(rows))
        return self.frame.head(rows)


def scan_parquet_text(path: Path) -> CsvScan | None:
    """The lazy twin of :func:`read_table` for a Parquet file: the same text columns
    (:func:`to_text`), rows numbered from 1, not read yet — a scan that reads only the
    columns the query uses (projection pushdown), batch by batch. None when the file cannot
    be scanned (the eager reader reports why)."""
    path = Path(path)
    _check_readable(path)
    try:
        lazy = pl.scan_parquet(path)
        schema = lazy.collect_schema()
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return None
    check_column_count(path, len(schema))
    as_text, dropped = _text_exprs(lazy)
    names = [e.meta.output_name() for e in as_text]
    typed = {n: d for n, d in schema.items() if n in names and typed_kind(d) is not None}
    # the rows are numbered by the scan itself: a row index added above the text conversion
    # kept a head(1000) from reaching the scan — the whole file was read and converted to text
    # for the first rows (0.2 s and 400 MiB on 5M rows, for each head the plan took)
    numbered = pl.scan_parquet(path, row_index_name=_IDX)
    line = (pl.col(_IDX).cast(pl.Int64) + 1).alias(LINE)
    frame = numbered.select(*as_text, line, pl.lit(False).alias(RAGGED))
    typed_frame = numbered.select(*(pl.col(n) if n in typed else e for n, e in zip(names, as_text, strict=True)),
                                  line, pl.lit(False).alias(RAGGED))
    notes = ["columns not readable as text, left out: " + ", ".join(dropped)] if dropped else []
    empty = pl.DataFrame(schema={**{n: pl.String for n in names}, LINE: pl.Int64, RAGGED: pl.Boolean})
    table = RawTable(frame=empty, path=path, format="parquet", encoding=None, delimiter=None, sheet=None,
                     header_row=None, rows_read=0, skipped_blank=0, notes=notes, header_cells=names)
    return CsvScan(frame, names, names, table, 0, typed, typed_frame)


def scan_plain_csv(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    header_row: int | None = None,
    header_score: HeaderScorer | None = None,
    spare: bool = True,
    transcode: bool = False,
) -> CsvScan | None:
    """The lazy twin of :func:`read_table` for a plain CSV, or None when the file is not one.

    Plain: a .csv-like file sniffed as UTF-8 (with or without a BOM), LF line ends, a header found — or,
    with ``transcode``, sniffed as another encoding (GB18030, Big5, Shift-JIS, cp1252…): it is
    then decoded strictly into a temporary UTF-8 copy, as :func:`read_table` does before it
    reads it, and scanned from there (``CsvScan.temporary``: the caller discards it; None when
    the whole file does not decode, which :func:`read_table` then handles). Rows
    are read with spare columns (``truncate_ragged_lines``) so ragged rows are flagged as in
    the eager read; with ``spare=False`` they are not (reading is cheaper), and a row longer
    than the header fails the collect with Polars' "found more fields" ComputeError
    (:func:`is_ragged_error`). Line numbers are the row index plus the lines above the first
    data row, which is right only while no cell holds a line break — the caller must check
    that (:meth:`CsvScan.rows_are_lines`) before trusting ``__line__``. A file that is not UTF-8
    past the sniffed sample fails when collected (``pl.exceptions.ComputeError``).
    """
    path = Path(path)
    _check_readable(path)
    if detect_format(path) != "csv":
        return None
    try:
        layout = _sniff_csv(path, encoding, delimiter, header_row, header_score or sniff.default_header_score)
    except PermissionError as e:
        raise UnreadableInput(f"{path}: permission denied") from e
    if isinstance(layout, RawTable) or layout.eol != "\n":
        return None
    encoding_used, notes, temporary = layout.best.encoding, list(layout.notes), None
    # UTF-8 with a BOM (Excel's "CSV UTF-8") is scanned as it is: the BOM opens the first line,
    # which is the header or above it, and the scan skips those lines
    if encoding_used not in ("utf-8", "utf-8-sig"):
        if not transcode:
            return None
        temporary = _transcode(path, encoding_used, layout.eol)
        if temporary is None:
            return None
        notes.append(f"transcoded from {encoding_used}")  # read_table's note, word for word
    names, header = layout.names, layout.header
    skip = header.last_line
    extras = [f"__extra_{i}__" for i in range(max(8, len(names)))] if spare else []
    schema = {n: pl.String for n in [*names, *extras]}
    scan = pl.scan_csv(
        temporary or path, has_header=False, skip_lines=skip, separator=layout.best.delimiter, quote_char='"',
        encoding="utf8", schema=schema, infer_schema=False, missing_columns="insert",
        truncate_ragged_lines=spare, raise_if_empty=False, row_index_name=_IDX,
    )
    cells = [*names, *extras]
    frame = scan.select(
        *cells,
        (pl.col(_IDX).cast(pl.Int64) + (skip + 1)).alias(LINE),
        (pl.any_horizontal([_filled(c) for c in extras]) if extras else pl.lit(False)).alias(RAGGED),
    )
    empty = pl.DataFrame(schema={**{n: pl.String for n in names}, LINE: pl.Int64, RAGGED: pl.Boolean})
    table = RawTable(
        frame=empty, path=path, format="csv", encoding=encoding_used, delimiter=layout.best.delimiter, sheet=None,
        header_row=header.first_line, rows_read=0, skipped_blank=layout.blank_above, notes=notes,
        header_cells=list(header.cells),
    )
    return CsvScan(frame, names, cells, table, skip, temporary=temporary)


def _encoding_candidates(path: Path, head: bytes, encoding: str | None, notes: list[str]) -> list[str]:
    """Encodings to try, best first: the override, a BOM, BOM-less UTF-16, else the fallbacks."""
    bom, _ = sniff.detect_bom(head)
    if encoding is not None:
        try:
            name = codecs.lookup(encoding).name
        except LookupError as e:
            raise BadInput(f"unknown encoding {encoding!r}", hint="e.g. utf-8, gb18030, cp1252, utf-16") from e
        if name == "utf-8" and bom == "utf-8-sig":
            name = "utf-8-sig"
        if name in ("utf-16", "utf-32") and bom:
            name = bom
        return [name]
    if bom is not None:
        notes.append(f"{bom.removesuffix('-sig')} BOM")
        if not bom.startswith("utf-16") and not bom.startswith("utf-32"):
            _refuse_binary(path, head)
        return [bom]
    utf16 = sniff.guess_bomless_utf16(head)
    if utf16 is not None:
        notes.append(f"{utf16} without BOM")
        return [utf16]
    _refuse_binary(path, head)
    return list(sniff.FALLBACK_ENCODINGS)


def _refuse_binary(path: Path, head: bytes) -> None:
    reason = sniff.binary_reason(head)
    if reason is not None:
        raise BadInput(f"{path}: {reason}", hint="export the data as CSV, XLSX, Parquet or JSON")


def _decode_sample(head: bytes, encoding: str, complete: bool) -> str | None:
    """Strict incremental decode: a multi-byte character cut by the sample's end is not an error."""
    try:
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(head, final=complete)
    except UnicodeDecodeError:
        return None


def _mostly_utf8_sample(head: bytes, complete: bool) -> str | None:
    """The sample decoded line by line when it is UTF-8 but for a few lines, else None.

    "UTF-8 but for a few lines": more lines that are valid, non-ASCII UTF-8 (real evidence:
    text in another encoding almost never forms valid multi-byte UTF-8) than lines that are
    not UTF-8. Those few are decoded with the other fallbacks, as :func:`_transcode_mixed`
    does for the whole file."""
    lines = head.split(b"\n")
    if not complete:
        lines = lines[:-1]  # cut by the sample's end
    good = bad = 0
    out: list[str] = []
    for raw in lines:
        try:
            out.append(raw.decode("utf-8"))
            good += not raw.isascii()
            continue
        except UnicodeDecodeError:
            bad += 1
        for enc in sniff.FALLBACK_ENCODINGS[1:]:
            try:
                out.append(raw.decode(enc))
                break
            except UnicodeDecodeError:
                continue
        else:
            return None
    return "\n".join(out) if good > bad else None


def _sniff_text(
    encoding: str, text: str | None, delimiter: str | None, header_row: int | None, score: HeaderScorer
) -> _Decoded | None:
    if text is None:
        return None
    text = text.lstrip("\ufeff")
    delim = delimiter or sniff.sniff_delimiter(text)
    if header_row is not None:
        records = sniff.parse_records(text, delim)
        idx = next((i for i, r in enumerate(records) if r.first_line == header_row), None)
        if idx is None or records[idx].blank:
            raise BadInput(
                f"line {header_row} does not start a non-blank row",
                hint="--header-row takes the 1-based line number of the header",
            )
        return _Decoded(encoding, text, delim, records, idx, score([c.strip() for c in records[idx].cells]))
    records = _head_records(text, delim)
    idx = sniff.find_header(records, score)
    s = score([c.strip() for c in records[idx].cells]) if idx is not None else 0.0
    return _Decoded(encoding, text, delim, records, idx, s)


def _head_records(text: str, delim: str) -> list[Record]:
    """Records up to (and a little past) the header search window, blank ones included."""
    records = sniff.parse_records(text, delim, limit=4 * sniff.HEADER_SEARCH_ROWS)
    non_blank = 0
    for i, r in enumerate(records):
        non_blank += not r.blank
        if non_blank > sniff.HEADER_SEARCH_ROWS:
            return records[:i]
    return records


def _bulk_read(
    path: Path,
    encoding: str,
    candidates: list[str],
    eol: str,
    skip: int,
    names: list[str],
    delimiter: str,
    notes: list[str],
) -> tuple[pl.DataFrame, str]:
    """Polars reads UTF-8 (LF/CRLF) files directly; anything else is transcoded first.

    A UTF-8 guess made on the sample can still meet a non-UTF-8 byte further down (one
    GB18030 cell pasted into a UTF-8 export). Re-decoding the *whole* file as GB18030 then
    turned every Chinese value into mojibake with exit 0; instead the file stays UTF-8 and
    only the lines that are not UTF-8 are decoded with the next fallback that takes them,
    with a note naming them (:func:`_transcode_mixed`).
    """
    if encoding in ("utf-8", "utf-8-sig") and eol == "\n":
        try:
            return _polars_csv(path, names, skip, delimiter), encoding
        except pl.exceptions.ComputeError as e:
            if "utf-8" not in str(e).lower():
                raise BadInput(f"{path}: {e}") from e
            mixed = _transcode_mixed(path, [c for c in sniff.FALLBACK_ENCODINGS if c != "utf-8"])
            if mixed is None:
                raise BadInput(f"{path}: lines past the sniffed sample decode neither as UTF-8 nor as "
                               f"{' or '.join(sniff.FALLBACK_ENCODINGS[1:])}",
                               hint="pass --encoding with the file's encoding") from e
            patched, odd = mixed
            shown = ", ".join(f"{line} ({enc})" for line, enc in odd[:5]) + (" …" if len(odd) > 5 else "")
            notes.append(f"warning: {len(odd)} line(s) not UTF-8, decoded one by one: line {shown}; check them")
            try:
                return _polars_csv(patched, names, skip, delimiter), encoding
            finally:
                patched.unlink(missing_ok=True)
    order = [encoding] + [c for c in candidates if c != encoding]
    for enc in order:
        tmp = _transcode(path, enc, eol)
        if tmp is None:
            continue
        try:
            if enc not in ("utf-8", "utf-8-sig"):
                notes.append(f"transcoded from {enc}")
            return _polars_csv(tmp, names, skip, delimiter), enc
        finally:
            tmp.unlink(missing_ok=True)
    raise BadInput(
        f"{path}: does not decode as {' or '.join(order)} throughout",
        hint="pass --encoding with the file's encoding",
    )


def _transcode(path: Path, encoding: str, eol: str) -> Path | None:
    """Strictly decode the whole file into a temporary UTF-8 file (LF line ends); None if it fails."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    fd, name = tempfile.mkstemp(prefix="custinv-", suffix=".csv")
    out = Path(name)
    carry = ""
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
            while True:
                chunk = src.read(_CHUNK)
                text = decoder.decode(chunk, final=not chunk)
                if eol == "\r":
                    text = carry + text
                    carry = text[-1:] if text.endswith("\r") and chunk else ""
                    text = (text[:-1] if carry else text).replace("\r\n", "\n").replace("\r", "\n")
                dst.write(text.encode("utf-8"))
                if not chunk:
                    break
    except UnicodeDecodeError:
        out.unlink(missing_ok=True)
        return None
    return out


def _transcode_mixed(path: Path, fallbacks: list[str]) -> tuple[Path, list[tuple[int, str]]] | None:
    """A UTF-8 file with some lines in another encoding → a temporary UTF-8 file.

    Chunks that are valid UTF-8 are copied as they are; in a chunk that is not, each line
    (a ``\\n`` byte never sits inside a UTF-8 or GB18030 character) is decoded as UTF-8, else
    with the first of ``fallbacks`` that decodes it strictly. Returns the file and the
    (1-based line, encoding) of every line that was not UTF-8; None when a line decodes
    with none of them."""
    fd, name = tempfile.mkstemp(prefix="custinv-", suffix=".csv")
    out = Path(name)
    odd: list[tuple[int, str]] = []
    line_no = 0
    carry = b""
    try:
        with path.open("rb") as src, os.fdopen(fd, "wb") as dst:
            while True:
                chunk = src.read(_CHUNK)
                data = carry + chunk
                cut = data.rfind(b"\n") + 1 if chunk else len(data)
                block, carry = data[:cut], data[cut:]
                try:
                    block.decode("utf-8")
                    dst.write(block)
                    line_no += block.count(b"\n")
                except UnicodeDecodeError:
                    for raw in block.splitlines(keepends=True):
                        line_no += 1
                        try:
                            raw.decode("utf-8")
                            dst.write(raw)
                            continue
                        except UnicodeDecodeError:
                            pass
                        for enc in fallbacks:
                            try:
                                dst.write(raw.decode(enc).encode("utf-8"))
                                odd.append((line_no, enc))
                                break
                            except UnicodeDecodeError:
                                continue
                        else:
                            out.unlink(missing_ok=True)
                            return None
                if not chunk:
                    break
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out, odd


def _polars_csv(source: Path, names: list[str], skip: int, delimiter: str) -> pl.DataFrame:
    """Native read of the data lines; rows longer than the header are retried with spare columns."""
    common = dict(
        has_header=False,
        skip_lines=skip,
        separator=delimiter,
        quote_char='"',
        encoding="utf8",
        infer_schema=False,
        missing_columns="insert",
        raise_if_empty=False,
        row_index_name=_IDX,
    )
    schema = {n: pl.String for n in names}
    try:
        df = pl.read_csv(source, schema=schema, **common)  # type: ignore[arg-type]
    except (pl.exceptions.ComputeError, pl.exceptions.SchemaError) as e:
        if not is_ragged_error(e):
            raise
        spare = {f"__extra_{i}__": pl.String for i in range(max(8, len(names)))}
        df = pl.read_csv(source, schema=schema | spare, truncate_ragged_lines=True, **common)  # type: ignore[arg-type]
    total = count_lines(source)
    return df.with_columns(pl.lit(total - skip).alias("__data_lines__"))


def contains_byte(path: Path, needle: bytes) -> bool:
    """Does the file hold ``needle`` anywhere? Read through one reused buffer, as count_lines
    reads: a memory map of the file put every page of it in the process's resident memory
    (a 240 MB CSV raised a 5M-line audit's peak by as much, at the end of the ingest)."""
    keep = len(needle) - 1  # a needle cut by a buffer's end is found with the next buffer
    buf = bytearray(_CHUNK // 4 + keep)
    held = 0
    with path.open("rb", buffering=0) as f:
        while got := f.readinto(memoryview(buf)[held:]):
            end = held + got
            if buf.find(needle, 0, end) != -1:
                return True
            held = min(keep, end)
            buf[:held] = buf[end - held:end]
    return False


def is_ragged_error(exc: Exception) -> bool:
    """Is this Polars' error for a row longer than the header? ("found more fields", or — found
    while checking the schema — "n_extra")."""
    return isinstance(exc, (pl.exceptions.ComputeError, pl.exceptions.SchemaError)) and (
        "more fields" in str(exc) or "n_extra" in str(exc))


def count_lines(path: Path) -> int:
    """Physical lines (LF-terminated, plus an unterminated last one); one reused buffer."""
    n = 0
    last: int | None = None
    buf = bytearray(_CHUNK // 4)
    with path.open("rb", buffering=0) as f:
        while got := f.readinto(buf):
            n += buf.count(b"\n", 0, got)
            last = buf[got - 1]
    return n + (1 if last is not None and last != 0x0A else 0)


def _finish(df: pl.DataFrame, names: list[str], skip: int) -> tuple[pl.DataFrame, int]:
    """Line numbers, ragged marks, blank rows out; returns (frame, blank rows removed).

    Polars keeps a blank line as an all-null row, so a row's line is skip + 1 + its index
    plus the line breaks inside quoted fields of the rows before it — counted only when the
    file has more physical lines than rows (the common file skips that work).
    """
    data_lines = int(df["__data_lines__"][0]) if df.height else 0
    df = df.drop("__data_lines__")
    cells = [c for c in df.columns if c != _IDX]
    extras = [c for c in cells if c.startswith("__extra_")]
    line = pl.col(_IDX).cast(pl.Int64) + (skip + 1)
    if df.height != data_lines:
        line = line + line_breaks_above(cells)
    ragged = pl.any_horizontal([_filled(c) for c in extras]) if extras else pl.lit(False)
    df = df.with_columns(line.alias(LINE), ragged.alias(RAGGED))
    df, n_blank = drop_blank_rows(df, cells)
    return df.select(*names, LINE, RAGGED), n_blank


def line_breaks_above(cells: list[str]) -> pl.Expr:
    """Per row: the line breaks inside quoted cells of the rows above it — what its line number
    adds to its place (a row's line is the lines above the first data row + 1 + its index +
    these). A cumulative sum: the streaming engine computes it batch by batch, in order."""
    nl = pl.sum_horizontal([pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in cells])
    return (nl.cum_sum() - nl).cast(pl.Int64)


def drop_blank_rows(df: pl.DataFrame, cells: list[str]) -> tuple[pl.DataFrame, int]:
    """Remove rows whose cells are all empty or whitespace; return (frame, rows removed).

    A blank row has an empty first cell, so the per-cell whitespace test runs only on
    those rows: a whole-table regex would cost more than reading the file.
    """
    if not cells or df.height == 0:
        return df, 0
    c0 = pl.col(cells[0])
    pos = "__blank_pos__"
    indexed = df.with_row_index(pos)
    blank_pos = (
        indexed.filter(c0.is_null() | c0.str.contains(r"^\s*$"))
        .filter(pl.all_horizontal([~_filled(c) for c in cells]))
        .get_column(pos)
    )
    if blank_pos.len() == 0:
        return df, 0
    return indexed.filter(~pl.col(pos).is_in(blank_pos.implode())).drop(pos), blank_pos.len()


def _filled(c: str) -> pl.Expr:
    """A cell with something other than whitespace in it."""
    return pl.col(c).is_not_null() & pl.col(c).str.contains(r"\S")


def _empty(
    path: Path, fmt: Format, encoding: str | None, delimiter: str | None, blank: int, notes: list[str]
) -> RawTable:
    frame = pl.DataFrame(schema={LINE: pl.Int64, RAGGED: pl.Boolean})
    return RawTable(frame, path, fmt, encoding, delimiter, None, None, 0, blank, notes)


# --- xlsx ---------------------------------------------------------------------------------------

_PROBE_ROWS = 200


def _read_xlsx(path: Path, sheet: str | int | None, header_row: int | None, score: HeaderScorer) -> RawTable:
    import fastexcel

    try:
        book = fastexcel.read_excel(path)
    except Exception as e:  # fastexcel raises its own error types for every kind of bad file
        raise BadInput(f"{path}: not a readable xlsx workbook ({e})", hint="open and re-save it in Excel") from e
    names = list(book.sheet_names)
    notes: list[str] = []

    def load(i: int, n_rows: int | None = None) -> pl.DataFrame:
        try:
            return book.load_sheet(i, header_row=None, skip_rows=0, dtypes="string", n_rows=n_rows).to_polars()
        except Exception:  # an empty sheet has no range
            return pl.DataFrame()

    warnings: list[str] = []
    idx = _pick_sheet(names, sheet, lambda i: load(i, _PROBE_ROWS), score, header_row, path, warnings)
    if sheet is None and len(names) > 1:
        notes.append(f"sheet {names[idx]!r} of {len(names)}")
    df = load(idx)
    records = _sheet_records(df.head(_PROBE_ROWS if header_row is None else max(_PROBE_ROWS, header_row)))
    h = _sheet_header(records, header_row, score)
    if h is None:
        empty = _empty(path, "xlsx", None, None, len(records), notes + ["no header: sheet is empty"])
        empty.sheet = names[idx]
        return empty
    top, h, header_cells = (h, h, records[h].cells) if header_row is not None else _two_level_header(records, h, score)
    header = records[h]
    if top != h:
        warnings.append(
            f"{path}: two header rows (rows {records[top].first_line}–{header.first_line}) read as one: "
            f"{', '.join(repr(c) for c in sniff.column_names(header_cells) if c)}; "
            f"say which row names the columns with --header-row"
        )
    if records[top].first_line > 1 and header_row is None:
        titled = sum(1 for r in records[:top] if not r.blank)
        notes.append(f"{titled} title row(s) above the header (row {records[top].first_line})")
        warnings.extend(dropped_rows_warning(path, records[:top], header_cells, "row"))
    cols = sniff.column_names(header_cells)
    data = df.slice(header.first_line).rename(dict(zip(df.columns, cols, strict=True)))
    data = data.with_columns(
        [pl.col(c).str.replace(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", "$1") for c in cols]
    ).with_columns(
        (pl.int_range(pl.len(), dtype=pl.Int64) + header.first_line + 1).alias(LINE), pl.lit(False).alias(RAGGED)
    )
    data, n_blank = drop_blank_rows(data, cols)
    return RawTable(
        frame=data,
        path=path,
        format="xlsx",
        encoding=None,
        delimiter=None,
        sheet=names[idx],
        header_row=header.first_line,
        rows_read=data.height,
        skipped_blank=n_blank + sum(1 for r in records[:top] if r.blank),
        notes=notes,
        header_cells=list(header_cells),
        warnings=warnings,
    )


def dropped_rows_warning(path: Path, above: list[Record], header: list[str], unit: str) -> list[str]:
    """A warning when a row skipped above the header is as wide as a table row (half the header's
    columns or more): it may have been the real header or data, not a title. Title lines (a
    report name, a filter line) fill one or two cells and are only a note."""
    width = sum(1 for c in header if c.strip())
    wide = [r for r in above if not r.blank and sum(1 for c in r.cells if c.strip()) >= max(3, width / 2)]
    if not wide:
        return []
    first = wide[0]
    shown = ", ".join(repr(c.strip()) for c in first.cells if c.strip())[:160]
    return [f"{path}: {len(wide)} table-wide {unit}(s) above the header were skipped as a title "
            f"({unit} {first.first_line}: {shown}); if the header is there, say so with --header-row "
            f"{first.first_line}"]


def _two_level_header(records: list[Record], h: int, score: HeaderScorer) -> tuple[int, int, list[str]]:
    """(first header row, last header row, column names) — a header spread over two rows.

    Reports put a group row above the column names, with merged cells: a cell merged down
    over both rows is written (by Excel and by the reader) in the upper row only, so the
    lower row is blank there; a group cell merged across columns names each of them. The
    pair (h-1, h) or (h, h+1) is read as one header when its names match more known fields
    than row h alone: the lower row names a column, the upper row fills a blank and prefixes
    a name the lower row repeats (付款 时间 / 发货 时间)."""
    def merged(upper: list[str], lower: list[str]) -> list[str]:
        width = max(len(upper), len(lower))
        up = [(upper[i] if i < len(upper) else "").strip() for i in range(width)]
        low = [(lower[i] if i < len(lower) else "").strip() for i in range(width)]
        group, groups = "", []
        for i, u in enumerate(up):  # a group cell merged across columns names every column under it
            group = u if u else (group if low[i] else "")
            groups.append(group)
        repeated = {n for n in low if n and low.count(n) > 1}

        def name(i: int, n: str) -> str:
            if not n:
                return up[i]
            joined = f"{groups[i]} {n}" if groups[i] else n
            # the group completes a name the lower row repeats, or one only the pair names (下单 + 时间)
            if n in repeated or (score([joined]) > 0 and not score([n]) > 0):
                return joined
            return n

        return [name(i, n) for i, n in enumerate(low)]

    def clean(cells: list[str]) -> list[str]:
        return [c.strip() for c in cells]

    best = (score(clean(records[h].cells)), h, h, list(records[h].cells))
    pairs = [(h - 1, h), (h, h + 1)]
    for upper, lower in pairs:
        if upper < 0 or lower >= len(records) or records[upper].blank or records[lower].blank:
            continue
        if records[lower].first_line != records[upper].first_line + 1:
            continue
        names = merged(records[upper].cells, records[lower].cells)
        value = score(clean(names))
        if value > best[0]:
            best = (value, upper, lower, names)
    return best[1], best[2], best[3]


#: Cells only a pivot table has (Excel's en / zh labels): such a sheet summarises, it is not the data.
_PIVOT = re.compile(r"(?i)^(?:row labels|column labels|sum of .+|count of .+|行标签|列标签|求和项.*|计数项.*)$")


def _pick_sheet(
    names: list[str],
    sheet: str | int | None,
    probe: Callable[[int], pl.DataFrame],
    score: HeaderScorer,
    header_row: int | None,
    path: Path | None = None,
    warnings: list[str] | None = None,
) -> int:
    listing = ", ".join(repr(n) for n in names)
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet.isdigit() and sheet not in names):
        i = int(sheet)
        if not 1 <= i <= len(names):
            raise BadInput(f"no sheet number {i}: the workbook has {len(names)}", hint=f"sheets: {listing}")
        return i - 1
    if isinstance(sheet, str):
        if sheet in names:
            return names.index(sheet)
        folded = [n.casefold() for n in names]
        if sheet.casefold() in folded:
            return folded.index(sheet.casefold())
        raise BadInput(f"no sheet named {sheet!r}", hint=f"sheets: {listing}")
    # Every sheet that looks like a table of data (a header naming known fields, rows under
    # it); pivot tables and summary sheets are not. The best header wins (then more rows,
    # then the first); choosing among several is a warning that names them and --sheet.
    found: list[tuple[float, int, int]] = []
    for i in range(len(names)):
        records = _sheet_records(probe(i))
        h = _sheet_header(records, header_row, score)
        if h is None:
            continue
        _, last, header_names = (_two_level_header(records, h, score) if header_row is None
                                 else (h, h, records[h].cells))
        cells = [c.strip() for c in header_names]
        rows = sum(1 for r in records[last + 1 :] if not r.blank)
        pivot = any(_PIVOT.match(c) for c in cells if c) or any(
            _PIVOT.match(r.cells[0].strip()) for r in records[last + 1 :] if r.cells and r.cells[0].strip())
        value = score(cells)
        if rows and value > 0 and not pivot:
            found.append((value, rows, -i))
    if not found:
        if len(names) > 1:
            raise BadInput(
                f"{path}: no sheet looks like a table of orders (a header naming known columns, rows under it)",
                hint=f"sheets: {listing}; choose one with --sheet NAME",
            )
        return 0
    best = max(found)
    chosen = -best[2]
    if len(found) > 1 and warnings is not None:
        others = ", ".join(repr(names[-i]) for _, _, i in sorted(found, reverse=True) if -i != chosen)
        warnings.append(f"{path}: sheet {names[chosen]!r} read (the best header, {best[1]}+ rows); "
                        f"also table-like: {others} — choose with --sheet NAME")
    return chosen


def _sheet_records(df: pl.DataFrame) -> list[Record]:
    """Sheet rows as sniff Records (row n of the sheet is line n)."""
    return [
        Record(i + 1, i + 1, ["" if v is None else str(v) for v in row]) for i, row in enumerate(df.iter_rows())
    ]


def _sheet_header(records: list[Record], header_row: int | None, score: HeaderScorer) -> int | None:
    if header_row is None:
        return sniff.find_header(records, score)
    if header_row > len(records) or records[header_row - 1].blank:
        raise BadInput(f"row {header_row} of the sheet is empty or missing", hint="--header-row is 1-based")
    return header_row - 1


# --- parquet / json -------------------------------------------------------------------------------


def _json_reader(fmt: Format) -> Callable[[Path], pl.DataFrame]:
    """Read JSON with every column as the JSON text of its values (ids and big numbers exact)."""
    read = pl.read_json if fmt == "json" else pl.read_ndjson

    def reader(path: Path) -> pl.DataFrame:
        inferred = read(path, infer_schema_length=None).schema
        schema = {n: (d if d.is_nested() else pl.String) for n, d in inferred.items()}
        return read(path, schema=schema)

    return reader


def _read_records(path: Path, fmt: Format, read: Callable[[Path], pl.DataFrame]) -> RawTable:
    """Parquet and JSON: one record per row, numbered from 1; every column cast to text."""
    if path.stat().st_size == 0:
        return _empty(path, fmt, None, None, 0, ["empty file"])
    try:
        df = read(path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as e:
        raise BadInput(f"{path}: cannot read as {fmt} ({e})") from e
    check_column_count(path, df.width)
    notes: list[str] = []
    df, dropped = to_text(df)
    if dropped:
        notes.append("columns not readable as text, left out: " + ", ".join(dropped))
    cols = df.columns
    df = df.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE), pl.lit(False).alias(RAGGED))
    df, n_blank = drop_blank_rows(df, cols)
    return RawTable(df, path, fmt, "utf-8" if fmt != "parquet" else None, None, None, None, df.height, n_blank, notes, list(cols))


FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


TYPED_KINDS = ("date", "float", "integer")
"""Parquet column types whose values the streaming ingest can take as they are: Date, Float64 and
the integers. Their text forms (:func:`to_text`) read back to the same values by the plain parse
rules; Float32 (its text is the float32 repr), Decimal, Datetime (a time zone) are read as text."""


def typed_kind(dtype: pl.DataType) -> str | None:
    """'date', 'float' or 'integer' for the TYPED_KINDS dtypes, else None."""
    if dtype == pl.Date:
        return "date"
    if dtype == pl.Float64:
        return "float"
    if dtype.is_integer():
        return "integer"
    return None


def text_exprs(dtypes: dict[str, pl.DataType]) -> list[pl.Expr]:
    """:func:`to_text`'s text form of the named columns (of these dtypes, text-able ones only)."""
    return _text_exprs(pl.LazyFrame(schema=dtypes))[0]


def float_text(c: pl.Expr) -> pl.Expr:
    """A float's text: its shortest round-trip form, a trailing ``.0`` dropped (12.0 → '12')."""
    return c.cast(pl.String).str.replace(r"\.0$", "")


def to_text(df: FrameT) -> tuple[FrameT, list[str]]:
    """Every column as String: dates ISO, datetimes 'YYYY-MM-DD HH:MM:SS[ ±hhmm]', 12.0 → '12'.

    Returns the frame (eager or lazy, as given) and the names of columns that have no text
    form (binary, nested).
    """
    exprs, dropped = _text_exprs(df)
    return df.select(exprs), dropped


def _text_exprs(df: pl.DataFrame | pl.LazyFrame) -> tuple[list[pl.Expr], list[str]]:
    """to_text's expressions (one per column with a text form) and the columns without one."""
    exprs: list[pl.Expr] = []
    dropped: list[str] = []
    for name, dtype in df.collect_schema().items():
        c = pl.col(name)
        if dtype == pl.String:
            exprs.append(c)
        elif dtype == pl.Date:
            exprs.append(c.dt.to_string("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            fmt = "%Y-%m-%d %H:%M:%S" + (" %z" if dtype.time_zone else "")
            exprs.append(c.dt.to_string(fmt))
        elif dtype.is_float():
            exprs.append(float_text(c))
        elif dtype.is_numeric() or dtype in (pl.Boolean, pl.Null, pl.Categorical) or isinstance(dtype, pl.Enum):
            exprs.append(c.cast(pl.String))
        elif isinstance(dtype, pl.Struct):
            exprs.append(c.struct.json_encode())
        elif isinstance(dtype, (pl.List, pl.Array)):
            listed = pl.concat_str(pl.lit("["), c.cast(pl.List(pl.String)).list.join(","), pl.lit("]"))
            try:
                probe = df.head(1).select(listed)
                if isinstance(probe, pl.LazyFrame):
                    probe.collect()
            except pl.exceptions.PolarsError:
                dropped.append(name)
                continue
            exprs.append(pl.when(c.is_not_null()).then(listed).alias(name))
        else:
            dropped.append(name)
    return exprs, dropped
