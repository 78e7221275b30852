"""Inline SVG charts for the HTML report: bars, lines, a heatmap and a treemap.

Plain SVG strings, no JavaScript, no external fonts: the report must open offline and print.
Every piece of text that reaches the SVG passes through :func:`_esc` (labels come from data:
a region called ``<script>`` must stay text), and the result is wrapped in ``Markup`` so the
template's autoescaping leaves the (already safe) SVG alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#1f4e79", "#2a9d8f", "#e9a03b", "#d1495b", "#6c757d", "#8e6bbf", "#4a90c2", "#7fb069", "#c97c5d", "#3d5a80")
TEXT = "#1d2733"
MUTED = "#6b7785"
GRID = "#e3e8ee"

SEGMENT_COLOURS = {
    "champions": "#1b7f5b", "loyal": "#2a9d8f", "potential_loyalist": "#57b894", "new": "#4a90c2",
    "promising": "#7fb3d5", "need_attention": "#e9c46a", "about_to_sleep": "#e9a03b", "at_risk": "#e07a3f",
    "cant_lose": "#d1495b", "hibernating": "#98a2ad", "lost": "#6c757d",
    "important_value": "#1b7f5b", "important_development": "#4a90c2", "important_retention": "#e9a03b",
    "important_winback": "#d1495b", "general_value": "#57b894", "general_development": "#7fb3d5",
    "general_retention": "#e9c46a", "general_winback": "#98a2ad",
    "high": "#1f4e79", "medium": "#4a90c2", "low": "#a9c4de",
    "high_frequency": "#1b7f5b", "low_frequency": "#57b894", "one_time": "#c9d3dc",
    "prospect": "#c9d3dc", "active": "#2a9d8f", "dormant": "#98a2ad", "churned": "#6c757d",
}


AXIS_COLOURS = {
    # lifecycle: one colour per stage, none shared (Core and Active used to be the same teal)
    "lifecycle": {"prospect": "#c9d3dc", "new": "#4a90c2", "active": "#57b894", "loyal": "#1b7f5b",
                  "at_risk": "#e07a3f", "dormant": "#b7a06a", "churned": "#6c757d"},
}


def colour(key: str, index: int = 0, axis: str | None = None) -> str:
    """The colour of a class on an axis: meaning first (greens good, orange/red warning, greys gone)."""
    return AXIS_COLOURS.get(axis or "", {}).get(key) or SEGMENT_COLOURS.get(key, PALETTE[index % len(PALETTE)])


def _esc(text: object) -> str:
    return escape(str(text), quote=True)


def _svg(width: float, height: float, body: str, title: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{_esc(title)}" class="chart">'
        f"<title>{_esc(title)}</title>{body}</svg>"
    )


def _text_width(text: str, size: float) -> float:
    """Rough width of a label: CJK glyphs are square, Latin ones about 0.55 em."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.56 for ch in text)


def hbars(items: Sequence[tuple[str, float, str, str]], *, title: str, width: int = 560) -> Markup:
    """Horizontal bars: (label, value, value text, colour) per row, longest bar = largest value."""
    if not items:
        return Markup("")
    size, row_h = 12.0, 24
    label_w = min(220.0, max(_text_width(label, size) for label, *_ in items) + 10)
    value_w = max(_text_width(text, size) for _, _, text, _ in items) + 12
    bar_w = max(60.0, width - label_w - value_w)
    top = max((v for _, v, _, _ in items), default=0) or 1
    parts = []
    for i, (label, value, text, fill) in enumerate(items):
        y = i * row_h
        w = max(0.0, value) / top * bar_w
        parts.append(
            f'<text x="{label_w - 8:.1f}" y="{y + 16}" text-anchor="end" font-size="{size}" fill="{TEXT}">{_esc(label)}</text>'
            f'<rect x="{label_w:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" rx="2" fill="{_esc(fill)}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" font-size="{size}" fill="{MUTED}">{_esc(text)}</text>'
        )
    return _svg(width, len(items) * row_h + 4, "".join(parts), title)


def stacked_bar(items: Sequence[tuple[str, float, str]], *, title: str, width: int = 560) -> Markup:
    """One 100% bar split into parts (label, share, colour), with a legend underneath."""
    total = sum(max(0.0, v) for _, v, _ in items) or 1
    x, parts, legend = 0.0, [], []
    for _label, value, fill in items:
        w = max(0.0, value) / total * width
        if w > 0:
            parts.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="26" fill="{_esc(fill)}"/>')
            if w > 44:
                parts.append(f'<text x="{x + w / 2:.1f}" y="17" text-anchor="middle" font-size="11" fill="#fff">'
                             f"{value / total * 100:.0f}%</text>")
        x += w
    lx, ly = 0.0, 46
    for label, value, fill in items:
        if value <= 0:
            continue
        text = f"{label} {value / total * 100:.1f}%"
        step = _text_width(text, 11) + 26
        if lx + step > width:
            lx, ly = 0.0, ly + 18
        legend.append(f'<rect x="{lx:.1f}" y="{ly - 9}" width="10" height="10" rx="2" fill="{_esc(fill)}"/>'
                      f'<text x="{lx + 14:.1f}" y="{ly}" font-size="11" fill="{TEXT}">{_esc(text)}</text>')
        lx += step
    return _svg(width, ly + 8, "".join(parts + legend), title)


SMALL_N = 30
"""A rate over fewer customers than this is labelled with its n (1 of 2 is not "50 %" news)."""


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2, 2.5 or 5 × 10^k (never 183, 366, 548)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(lo / step) * step
    ticks: list[float] = []
    v = start
    while v < hi + step * 0.5 and len(ticks) < 12:
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    title: str,
    percent: bool = False,
    width: int = 560,
    height: int = 220,
    partial_last: bool = False,
    counts: Sequence[int | None] | None = None,
) -> Markup:
    """Lines over periods on an evenly spaced axis (``labels`` must hold every period, gaps
    included); a missing value breaks the line. Ticks are round numbers. ``partial_last``
    draws the last point (a period still running) hollow on a dashed segment, so it never
    reads as a fall; ``counts`` (the n behind each period's rates) labels points with n < 30."""
    if not labels:
        return Markup("")
    values = [v for _, vs, _ in series for v in vs if v is not None]
    lo, hi = (min(values + [0.0]), max(values + [0.0])) if values else (0.0, 1.0)
    ticks = nice_ticks(lo, hi)
    lo, hi = ticks[0], ticks[-1]
    left, right, top, bottom = 56, 26, 12, 40
    pw, ph = width - left - right, height - top - bottom
    n = len(labels)

    def px(i: int) -> float:
        return left + (pw * i / (n - 1) if n > 1 else pw / 2)

    def py(v: float) -> float:
        return top + ph - (v - lo) / (hi - lo) * ph

    parts = []
    for v in ticks:
        y = py(v)
        tick = f"{v * 100:.0f}%" if percent else _short(v)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">{_esc(tick)}</text>')
    every = max(1, math.ceil(n / 8))
    for i, lab in enumerate(labels):
        if i % every == 0 or i == n - 1:
            text = lab + ("*" if partial_last and i == n - 1 else "")
            parts.append(f'<text x="{px(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
                         f'fill="{MUTED}">{_esc(text)}</text>')
    lx = float(left)
    for name, vs, stroke in series:
        cut = n - 1 if partial_last else n
        runs: list[list[tuple[float, float]]] = [[]]
        for i, value in enumerate(vs[:cut]):
            if value is None:
                runs.append([])
            else:
                runs[-1].append((px(i), py(value)))
        for run in runs:
            if len(run) > 1:
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline points="{pts}" fill="none" stroke="{_esc(stroke)}" stroke-width="2"/>')
            for x, y in run:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{_esc(stroke)}"/>')
        last = vs[n - 1] if partial_last and n >= 1 and len(vs) >= n else None
        if last is not None:
            lx_, ly_ = px(n - 1), py(last)
            before = vs[n - 2] if n >= 2 else None
            if before is not None:
                parts.append(f'<line x1="{px(n - 2):.1f}" y1="{py(before):.1f}" x2="{lx_:.1f}" y2="{ly_:.1f}" '
                             f'stroke="{_esc(stroke)}" stroke-width="1.5" stroke-dasharray="4 3"/>')
            parts.append(f'<circle cx="{lx_:.1f}" cy="{ly_:.1f}" r="3" fill="#fff" stroke="{_esc(stroke)}" '
                         f'stroke-width="1.5"/>')
        if counts is not None:
            for i, (point, c) in enumerate(zip(vs, counts, strict=False)):
                if point is not None and c is not None and c < SMALL_N:
                    parts.append(f'<text x="{px(i):.1f}" y="{py(point) - 7:.1f}" text-anchor="middle" font-size="11" '
                                 f'fill="{MUTED}">n={c}</text>')
        parts.append(f'<rect x="{lx:.1f}" y="{height - 13}" width="10" height="3" fill="{_esc(stroke)}"/>'
                     f'<text x="{lx + 14:.1f}" y="{height - 8}" font-size="11" fill="{TEXT}">{_esc(name)}</text>')
        lx += _text_width(name, 11) + 34
    return _svg(width, height, "".join(parts), title)


def columns(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    title: str,
    width: int = 560,
    height: int = 220,
) -> Markup:
    """Vertical bars per label, one bar per series side by side (e.g. actual vs predicted)."""
    if not labels or not series:
        return Markup("")
    left, right, top, bottom = 52, 10, 10, 38
    pw, ph = width - left - right, height - top - bottom
    hi = max([max(0.0, v) for _, vs, _ in series for v in vs] + [0.0]) or 1.0
    slot = pw / len(labels)
    bar = slot * 0.8 / len(series)
    parts = []
    for k in range(5):
        v = hi * k / 4
        y = top + ph - v / hi * ph
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">{_esc(_short(v))}</text>')
    for i, lab in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for s_i, (_, vs, fill) in enumerate(series):
            h = max(0.0, vs[i]) / hi * ph
            parts.append(f'<rect x="{x0 + s_i * bar:.1f}" y="{top + ph - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                         f'fill="{_esc(fill)}"/>')
        parts.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                     f'font-size="11" fill="{MUTED}">{_esc(lab)}</text>')
    for s_i, (name, _, fill) in enumerate(series):
        lx = left + s_i * 150
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" rx="2" fill="{_esc(fill)}"/>'
                     f'<text x="{lx + 14}" y="{height - 5}" font-size="11" fill="{TEXT}">{_esc(name)}</text>')
    return _svg(width, height, "".join(parts), title)


def _short(v: float) -> str:
    a = abs(v)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= size:
            return f"{v / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{v:.0f}" if a >= 10 or v == int(v) else f"{v:.1f}"


def heat_colour(value: float | None) -> str:
    """White → deep teal by retention; a missing cell (period not reached) stays blank."""
    if value is None:
        return "#ffffff"
    v = min(1.0, max(0.0, value)) ** 0.6
    lo, hi = (247, 251, 252), (18, 103, 110)
    return "#" + "".join(f"{round(a + (b - a) * v):02x}" for a, b in zip(lo, hi, strict=True))


def heatmap(
    rows: Sequence[str],
    sizes: Sequence[int],
    cells: Sequence[Sequence[float | None]],
    *,
    title: str,
    width: int = 1000,
    partial: Sequence[Sequence[bool]] | None = None,
    emphasis: Sequence[bool] | None = None,
) -> Markup:
    """Cohort triangle: one row per cohort (label, size), one column per period after first order.

    Sized to fit ``width`` (the page) without scaling below 10 px text; a ``partial`` cell (its
    period still running) is drawn hatched-outline with a ``*``; ``emphasis`` rows (the grouped
    oldest cohorts, the weighted average) are bold."""
    if not rows:
        return Markup("")
    ncol = max((len(r) for r in cells), default=0)
    label_w = max(_text_width(f"{lab} ({size:,})", 11) for lab, size in zip(rows, sizes, strict=True)) + 12
    left, head, ch = min(260.0, label_w), 20, 20
    cw = min(48.0, (width - left - 4) / max(ncol, 1))
    numbers = cw >= 24  # narrower cells are colour only (the value is in each cell's tooltip)
    every = max(1, math.ceil(24 / cw))
    parts = [f'<text x="{left + i * cw + cw / 2:.1f}" y="13" text-anchor="middle" font-size="11" fill="{MUTED}">{i}</text>'
             for i in range(ncol) if i % every == 0]
    for r, (lab, size, vals) in enumerate(zip(rows, sizes, cells, strict=True)):
        y = head + r * ch
        bold = ' font-weight="700"' if emphasis and emphasis[r] else ""
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11" fill="{TEXT}"{bold}>'
                     f'{_esc(lab)} <tspan fill="{MUTED}">({size:,})</tspan></text>')
        for i, v in enumerate(vals):
            if v is None:
                continue
            is_partial = bool(partial and partial[r][i])
            fill = "#ffffff" if is_partial else heat_colour(v)
            ink = "#fff" if v >= 0.45 and not is_partial else TEXT
            stroke = f' stroke="{MUTED}" stroke-dasharray="3 2"' if is_partial else ""
            mark = "*" if is_partial else ""
            tip = f"<title>{_esc(lab)} · {i}: {v * 100:.1f}%{mark}</title>"
            parts.append(f'<rect x="{left + i * cw:.1f}" y="{y}" width="{max(cw - 1, 1):.1f}" height="{ch - 1}" '
                         f'fill="{fill}"{stroke}>{tip}</rect>')
            if numbers:
                parts.append(f'<text x="{left + i * cw + cw / 2:.1f}" y="{y + 14}" text-anchor="middle" font-size="10.5" '
                             f'fill="{ink}"{bold}>{v * 100:.0f}{mark}</text>')
    return _svg(left + ncol * cw + 4, head + len(rows) * ch + 2, "".join(parts), title)


def squarify(values: Sequence[float], x: float, y: float, w: float, h: float) -> list[tuple[float, float, float, float]]:
    """Squarified treemap layout (Bruls, Huizing, van Wijk 2000): rectangles in the input order,
    areas proportional to ``values`` (which should be sorted large → small for square cells)."""
    total = sum(values)
    if total <= 0 or not values:
        return [(x, y, 0.0, 0.0) for _ in values]
    scaled = [v * w * h / total for v in values]
    out: list[tuple[float, float, float, float]] = []

    def worst(row: list[float], side: float) -> float:
        s = sum(row)
        return max(max(side * side * r / (s * s), (s * s) / (side * side * r)) for r in row) if s and min(row) > 0 else math.inf

    i = 0
    while i < len(scaled):
        side = min(w, h)
        row = [scaled[i]]
        i += 1
        while i < len(scaled) and worst(row + [scaled[i]], side) <= worst(row, side):
            row.append(scaled[i])
            i += 1
        s = sum(row)
        if w >= h:  # lay the row down the left side
            cw = s / h if h else 0
            yy = y
            for r in row:
                rh = r / cw if cw else 0
                out.append((x, yy, cw, rh))
                yy += rh
            x, w = x + cw, w - cw
        else:
            rh = s / w if w else 0
            xx = x
            for r in row:
                rw = r / rh if rh else 0
                out.append((xx, y, rw, rh))
                xx += rw
            y, h = y + rh, h - rh
    return out


def treemap(items: Sequence[tuple[str, float, str, str]], *, title: str, width: int = 1010, height: int = 320) -> Markup:
    """Segment map: (label, size, second line, colour); area = size (customers)."""
    items = sorted((it for it in items if it[1] > 0), key=lambda it: -it[1])
    rects = squarify([it[1] for it in items], 0, 0, width, height)
    parts = []
    for (label, _, sub, fill), (x, y, w, h) in zip(items, rects, strict=True):
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w - 2, 0):.1f}" height="{max(h - 2, 0):.1f}" rx="3" '
                     f'fill="{_esc(fill)}"><title>{_esc(label)} — {_esc(sub)}</title></rect>')
        size = 13.0 if w > 140 else 11.0
        if h > 20 and _text_width(label, size) < w - 12:
            parts.append(f'<text x="{x + 8:.1f}" y="{y + 19:.1f}" font-size="{size:.0f}" font-weight="600" '
                         f'fill="#fff">{_esc(label)}</text>')
            if h > 40 and _text_width(sub, 10.5) < w - 12:
                parts.append(f'<text x="{x + 8:.1f}" y="{y + 34:.1f}" font-size="10.5" fill="#fff" '
                             f'fill-opacity="0.9">{_esc(sub)}</text>')
    return _svg(width, height, "".join(parts), title)
