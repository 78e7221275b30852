"""``custinv inspect`` on a file that lacks a required field: what WAS found, before exit 65.

A user whose export has an unknown header should see the columns, the fields custinv did
map (and why) and, for each missing field, the columns that might hold it — so the
``--map field=column`` to write is obvious.
"""

from __future__ import annotations

import itertools
import json
import re
import sys

from custinv.ingest import fields as F

__all__ = ["candidates", "render_partial"]

def candidates(field: str, columns: list[str], taken: set[str]) -> list[str]:
    """Unmapped columns sharing a word (or a CJK character pair) with a synonym of ``field``."""
    synonyms = [name for _, names in F.SYNONYMS.get(field, []) for name in names]
    vocab: set[str] = set()
    for name in synonyms:
        vocab |= {w for w in re.findall(r"[a-z]{3,}", name.casefold()) if w not in {"the", "total"}}
        cjk = re.findall(r"[\u3400-\u9fff]", name)
        vocab |= {a + b for a, b in itertools.pairwise(cjk)}
    out = []
    for column in columns:
        if column in taken:
            continue
        text = column.casefold()
        words = set(re.findall(r"[a-z]{3,}", text))
        cjk = re.findall(r"[\u3400-\u9fff]", column)
        pairs = {a + b for a, b in itertools.pairwise(cjk)}
        if words & vocab or pairs & vocab:
            out.append(column)
    return out


def _missing_fields(mapping: F.Mapping) -> list[str]:
    missing = [f for f in F.REQUIRED if mapping.column(f) is None]
    if mapping.column("amount") is None and not (mapping.column("quantity") and mapping.column("unit_price")):
        missing.append("amount")
    return missing


def render_partial(exc: F.MissingFields, *, as_json: bool = False) -> None:
    """Print the partial mapping and the candidate columns of each missing field (stdout)."""
    taken = set(exc.mapping.as_dict().values())
    missing = {f: candidates(f, exc.columns, taken) for f in _missing_fields(exc.mapping)}
    if as_json:
        payload = {
            "file": exc.path,
            "columns": exc.columns,
            "mapping": [{"field": c.field, "column": c.column, "reason": c.reason}
                        for c in exc.mapping.choices.values()],
            "missing": [{"field": f, "candidates": c} for f, c in missing.items()],
        }
        sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    table = Table(title=f"{escape(exc.path)}: partial mapping")
    table.add_column("field")
    table.add_column("column")
    table.add_column("why")
    for choice in exc.mapping.choices.values():
        table.add_row(choice.field, escape(choice.column), escape(choice.reason))
    for field, found in missing.items():
        shown = ", ".join(repr(c) for c in found) if found else "no likely column"
        table.add_row(f"[bold red]{field}[/]", "[red]missing[/]", escape(f"candidates: {shown}"))
    console.print(table)
    console.print("columns: " + escape(", ".join(exc.columns)))
