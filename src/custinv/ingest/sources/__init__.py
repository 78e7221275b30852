"""Sources: where rows come from — a file (or glob) or a database — behind one small interface.

Every command that takes a file takes a database URI in its place (``postgresql://``,
``mysql://``, ``sqlite:///``, ``duckdb:///``); :func:`expand_sources` turns the arguments
into sources, :func:`read_source` reads any source into the shared
:class:`~custinv.ingest.readers.RawTable`, and the rest of ingest does not care which it was.
The database machinery (and its drivers, ``custinv[db]``) is imported only when a URI is
given, so file runs stay as lean as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from custinv.errors import InputError, UsageError
from custinv.ingest.readers import RawTable, expand_inputs, read_table
from custinv.ingest.sniff import HeaderScorer
from custinv.ingest.sources.database import DatabaseSource
from custinv.ingest.sources.uri import is_database_uri, parse_uri

if TYPE_CHECKING:
    from custinv.config import Settings

Source = Path | DatabaseSource
"""Any input: a file, or a database table or query (the drivers load only when one is read)."""


def as_source(text: str | Path) -> Source:
    """One input as written (a path or a database URI) → a source, without touching it."""
    if isinstance(text, str) and is_database_uri(text):
        return DatabaseSource(parse_uri(text))
    return Path(text)


def expand_sources(patterns: Sequence[str]) -> list[Source]:
    """Command-line inputs → sources: database URIs as they are, files and globs expanded."""
    out: list[Source] = []
    for pattern in patterns:
        if is_database_uri(pattern):
            out.append(as_source(pattern))
        else:
            out.extend(p for p in expand_inputs([pattern]) if p not in out)
    databases = sum(1 for s in out if isinstance(s, DatabaseSource))
    if databases and len(out) > 1:
        raise UsageError("a database source is read on its own, not with other inputs",
                         hint="combine tables in the database with --query \"select … union all select …\"")
    return out


def read_source(
    source: Source,
    settings: Settings,
    *,
    main: bool = True,
    header_score: HeaderScorer | None = None,
    sheet: str | int | None = None,
) -> RawTable:
    """Read any source into a RawTable. ``main``: the order input, which --query, --where and
    --since apply to (side inputs — the customer master, tickets — name a table)."""
    if isinstance(source, Path):
        if main:
            for flag, value in (("--query", settings.query), ("--where", settings.where), ("--since", settings.since)):
                if value:
                    raise UsageError(f"{flag} applies to a database source, not to the file {source}",
                                     hint="give a URI such as postgresql://user@host/shop")
            return read_table(source, encoding=settings.encoding, delimiter=settings.delimiter, sheet=sheet,
                              header_row=settings.header_row, header_score=header_score)
        return read_table(source, header_score=header_score)
    from custinv.ingest.sources.database import read_database

    return read_database(source, settings, main=main)


def check_side_input(text: str) -> None:
    """Fail early (exit 66) when a side input (--customers-file, --tickets) is a missing file;
    a database URI is checked when it is read."""
    if is_database_uri(text):
        parse_uri(text)  # a malformed URI or a password in it fails now
        return
    side = Path(text)
    if not side.is_file():
        raise InputError(f"{side}: no such file" if not side.exists() else f"{side} is not a file")


def read_query_file(path: Path) -> str:
    """The text of --query-file (UTF-8, a BOM allowed)."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file", hint="--query-file names a .sql file holding one SELECT") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the query file ({exc})") from exc
