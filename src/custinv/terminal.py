"""Text that reaches a terminal is inert: no control characters, no escape sequences.

Cell values (a region, a city, a channel), file names and ``--map`` values echoed in errors
come from exports anyone can write. Printed raw, ``ESC [2J`` clears the screen, ``ESC ]0;…``
retitles the window, ``ESC ]8;;url`` plants a hyperlink, a single C1 byte ``U+009B`` starts a
CSI, and bidi overrides reorder what the analyst reads. :func:`clean` removes them all:

* whole escape sequences — CSI (``ESC [ … final``), OSC (``ESC ] … BEL`` or ``ESC \\``,
  which covers OSC 8 links), DCS/SOS/PM/APC strings, and two-byte escapes;
* every remaining C0 control except tab and newline, DEL, and the C1 range U+0080–U+009F;
* the bidirectional embedding/override/isolate marks (U+202A–U+202E, U+2066–U+2069).

:class:`SafeConsole` is the one Rich console every terminal renderer uses: it cleans every
string before layout (``render_str``, so widths are right) and every segment of text after
(``render``, so a ``rich.text.Text`` built elsewhere cannot slip through). Rich's own colours
are styles, applied after ``render``, so they are untouched.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.text import Text

_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC (titles, OSC 8 hyperlinks)
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # other escapes (ESC c resets the terminal)
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # C1 CSI
    r"|\x9d[^\x07\x9c]*[\x07\x9c]?"  # C1 OSC
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` without escape sequences, control characters or bidi overrides."""
    if text.isprintable():
        return text
    return _CONTROLS.sub("", _SEQUENCES.sub("", text))


class SafeConsole(Console):
    """A Rich console that never writes a control character it did not generate itself."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(clean(text), **kwargs)

    def on_broken_pipe(self) -> None:
        """The reader went away (``custinv audit … | head``): hand the error to the CLI's error
        funnel, which ends quietly with exit 0 as for every other broken pipe. Rich's default
        exits 1, the code that means "a bug in custinv"."""
        self.quiet = True
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or segment.text.isprintable():
                yield segment
            else:
                yield Segment(clean(segment.text), segment.style, segment.control)
