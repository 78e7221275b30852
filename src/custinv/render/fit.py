"""Terminal tables that fit the width without ever cutting a number.

Rich shrinks every column of a table too wide for the terminal, and a shrunk money column
shows ``$2,312.…`` — a number nobody can use. Here each column says how much it matters
(``keep``: higher stays longer) and whether it holds a figure. Before Rich lays the table
out, the least important columns are dropped until the rest fits; figures are then set
``no_wrap`` with their full width as minimum, so only text (names, actions) ever wraps. The
caption says which columns were left out and how to see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

Cell = str | Text

ALWAYS = 100
"""``keep`` of a column that is never dropped (the key, the headline figure)."""


@dataclass(frozen=True)
class Column:
    header: str
    justify: str = "left"
    keep: int = 50
    figure: bool = False
    """A number: never wraps, never truncates."""


def _width(cell: Cell) -> int:
    return max((cell_len(line) for line in str(cell.plain if isinstance(cell, Text) else cell).split("\n")), default=0)


def fitted_table(title: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int, *,
                 caption: str | None = None, hidden_note: str = "hidden at this width: {names}") -> Table:
    """A Rich table of ``rows`` that fits ``width`` columns of terminal by dropping columns."""
    need = [max([_width(c.header)] + [_width(r[i]) for r in rows]) for i, c in enumerate(columns)]
    kept = list(range(len(columns)))

    def total(idx: list[int]) -> int:
        return sum(need[i] + 3 for i in idx) + 1  # padding 1+1 and a border per column, one closing border

    while total(kept) > width:
        droppable = [i for i in kept if columns[i].keep < ALWAYS]
        if not droppable:
            break
        kept.remove(min(droppable, key=lambda i: (columns[i].keep, -i)))
    table = Table(title=title, title_justify="left", title_style="bold", header_style="bold")
    for i in kept:
        c = columns[i]
        if c.figure:
            table.add_column(c.header, justify=c.justify, no_wrap=True, min_width=need[i])  # type: ignore[arg-type]
        else:
            table.add_column(c.header, justify=c.justify, overflow="fold", min_width=min(need[i], 10))  # type: ignore[arg-type]
    for r in rows:
        table.add_row(*[r[i] for i in kept])
    hidden = [columns[i].header for i in range(len(columns)) if i not in kept]
    notes = [n for n in (caption, hidden_note.format(names=", ".join(hidden)) if hidden else None) if n]
    if notes:
        table.caption = "\n".join(notes)
        table.caption_justify = "left"
    return table


HIDDEN_NOTE = {"en": "hidden at this width: {names} (widen the terminal, or --format json / --excel)",
               "zh": "当前宽度下隐藏：{names}（加宽终端，或用 --format json / --excel 查看）"}


class FitTable(Table):
    """A Rich table that, when printed, drops its least important columns until it fits.

    Columns are dropped in ``keep`` order (a dict from column index to importance; by default
    the rightmost first, the first column never); right-aligned columns are figures and are
    set ``no_wrap`` at their full width, so a number is never wrapped or cut (``$2,312.…``).
    The caption then names what was hidden."""

    def __init__(self, *args: object, lang: str = "en", keep: dict[int, int] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lang = lang
        self.keep = keep or {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        cols = list(self.columns)
        need = [max([_width(c.header)] + [_width(cell) for cell in c._cells]) for c in cols]  # type: ignore[arg-type]
        pad = 3 if self.box is not None else 2
        kept = list(range(len(cols)))

        def total(idx: list[int]) -> int:
            return sum(need[i] + pad for i in idx) + 1

        def importance(i: int) -> tuple[int, int]:
            return (self.keep.get(i, ALWAYS if i == 0 else 50 - i), -i)

        while total(kept) > width:
            droppable = [i for i in kept if importance(i)[0] < ALWAYS]
            if not droppable:
                break
            kept.remove(min(droppable, key=importance))
        hidden = [str(cols[i].header) for i in range(len(cols)) if i not in kept]
        self.columns = [cols[i] for i in kept]
        for i, c in zip(kept, self.columns, strict=True):
            if c.justify == "right":
                c.no_wrap = True
                c.min_width = need[i]
        if hidden:
            note = HIDDEN_NOTE.get(self.lang, HIDDEN_NOTE["en"]).format(names=", ".join(hidden))
            self.caption = f"{self.caption}\n{note}" if self.caption else note
            self.caption_justify = "left"
        yield from super().__rich_console__(console, options)
