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


def colour(key: str, index: int = 0) -> str:
    return SEGMENT_COLOURS.get(key, PALETTE[index % len(PALETTE)])


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
    for label, value, fill in items:
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


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    title: str,
    percent: bool = False,
    width: int = 560,
    height: int = 220,
) -> Markup:
    """Lines over periods; a missing value breaks the line. ``percent`` labels the axis in %."""
    if not labels:
        return Markup("")
    values = [v for _, vs, _ in series for v in vs if v is not None]
    lo, hi = (min(values + [0.0]), max(values + [0.0])) if values else (0.0, 1.0)
    if hi == lo:
        hi = lo + 1
    left, right, top, bottom = 52, 26, 10, 38
    pw, ph = width - left - right, height - top - bottom
    n = len(labels)

    def px(i: int) -> float:
        return left + (pw * i / (n - 1) if n > 1 else pw / 2)

    def py(v: float) -> float:
        return top + ph - (v - lo) / (hi - lo) * ph

    parts = []
    for k in range(5):
        v = lo + (hi - lo) * k / 4
        y = py(v)
        tick = f"{v * 100:.0f}%" if percent else _short(v)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="{MUTED}">{_esc(tick)}</text>')
    every = max(1, math.ceil(n / 8))
    for i, lab in enumerate(labels):
        if i % every == 0 or i == n - 1:
            parts.append(f'<text x="{px(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="10" '
                         f'fill="{MUTED}">{_esc(lab)}</text>')
    for s, (name, vs, stroke) in enumerate(series):
        runs: list[list[str]] = [[]]
        for i, v in enumerate(vs):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(f"{px(i):.1f},{py(v):.1f}")
        for run in runs:
            if len(run) > 1:
                parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{_esc(stroke)}" stroke-width="2"/>')
            for pt in run:
                cx, cy = pt.split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{_esc(stroke)}"/>')
        lx = left + s * 150
        parts.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="3" fill="{_esc(stroke)}"/>'
                     f'<text x="{lx + 14}" y="{height - 8}" font-size="10" fill="{TEXT}">{_esc(name)}</text>')
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
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="{MUTED}">{_esc(_short(v))}</text>')
    for i, lab in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        for s_i, (_, vs, fill) in enumerate(series):
            h = max(0.0, vs[i]) / hi * ph
            parts.append(f'<rect x="{x0 + s_i * bar:.1f}" y="{top + ph - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
                         f'fill="{_esc(fill)}"/>')
        parts.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                     f'font-size="10" fill="{MUTED}">{_esc(lab)}</text>')
    for s_i, (name, _, fill) in enumerate(series):
        lx = left + s_i * 150
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" rx="2" fill="{_esc(fill)}"/>'
                     f'<text x="{lx + 14}" y="{height - 5}" font-size="10" fill="{TEXT}">{_esc(name)}</text>')
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
    width: int = 760,
) -> Markup:
    """Cohort triangle: one row per cohort (label, size), one column per period after first order."""
    if not rows:
        return Markup("")
    ncol = max((len(r) for r in cells), default=0)
    left, head, cw, ch = 118, 18, max(24.0, min(46.0, (width - 118) / max(ncol, 1))), 18
    parts = [f'<text x="{left + i * cw + cw / 2:.1f}" y="12" text-anchor="middle" font-size="10" fill="{MUTED}">{i}</text>'
             for i in range(ncol)]
    for r, (lab, size, vals) in enumerate(zip(rows, sizes, cells, strict=True)):
        y = head + r * ch
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" font-size="10" fill="{TEXT}">'
                     f'{_esc(lab)} <tspan fill="{MUTED}">({size:,})</tspan></text>')
        for i, v in enumerate(vals):
            if v is None:
                continue
            fill = heat_colour(v)
            ink = "#fff" if v >= 0.45 else TEXT
            parts.append(f'<rect x="{left + i * cw:.1f}" y="{y}" width="{cw - 1:.1f}" height="{ch - 1}" fill="{fill}"/>'
                         f'<text x="{left + i * cw + cw / 2:.1f}" y="{y + 12.5}" text-anchor="middle" font-size="9" '
                         f'fill="{ink}">{v * 100:.0f}</text>')
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
