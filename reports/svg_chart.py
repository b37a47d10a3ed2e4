"""A small SVG chart writer for the tearsheet's QuantStats-style figures: lines, areas, bars, shaded spans, a
heatmap and box plots on one axes, written straight to an SVG string.

Why not matplotlib: a matplotlib figure costs 60-600 ms to lay out and print (text layout, tight_layout, the
SVG printer), and the page has thirteen of them; this writer costs a few milliseconds per figure and needs no
font lookup at all (the browser draws the text with whatever sans-serif it has, so nothing warns about fonts).

Lines are thinned to the points a reader can see: per pixel column only the first, lowest, highest and last
point are kept (the drawn envelope is the same as with every point). Tick labels sit in ``g#xtick_N`` /
``g#ytick_N`` groups, each with a ``g#text_N`` (the layout the page's browser test measures for overlaps).
"""
from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
CHAR_W = 0.6  # average glyph width of a sans-serif face, in font sizes (for label spacing only)
GRID = "#e6e6e6"
AXIS = "#888888"
TEXT = "#333333"


def coord(x: float) -> str:
    """A coordinate with two decimals, no trailing zeros (compact and deterministic)."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About `n` round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return np.array([0.0])
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0) * 0.1
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.round(ticks / step) * step  # no 0.30000000000000004


def pct_label(decimals: int = 0) -> Callable[[float], str]:
    def fmt(v: float) -> str:
        s = f"{v * 100:.{decimals}f}"
        return ("0" if float(s) == 0 else s) + "%"
    return fmt


def num_label(decimals: int = 1) -> Callable[[float], str]:
    def fmt(v: float) -> str:
        s = f"{v:.{decimals}f}"
        return "0" if float(s) == 0 else s
    return fmt


def tick_decimals(ticks: np.ndarray, scale: float = 1.0) -> int:
    """Decimals that tell the tick values apart."""
    for d in range(0, 5):
        if len({f"{t * scale:.{d}f}" for t in ticks}) == len(ticks):
            return d
    return 4


def date_num(index: pd.DatetimeIndex) -> np.ndarray:
    """Days since 1970-01-01 as floats (the x coordinate of every time axis)."""
    # as nanoseconds whatever unit the index is stored in (pandas 3 reads CSV dates as microseconds)
    return pd.DatetimeIndex(index).as_unit("ns").asi8.astype(float) / 86_400e9 if len(index) else np.array([])


def thin(x: np.ndarray, y: np.ndarray, px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep, per whole pixel column `px`, the first, lowest, highest and last point (NaN gaps are dropped)."""
    ok = np.isfinite(y)
    x, y, px = x[ok], y[ok], px[ok]
    n = len(x)
    if n <= 4:
        return x, y
    col = np.floor(px).astype(np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(col)) + 1]
    if len(starts) * 4 >= n:
        return x, y
    ends = np.r_[starts[1:], n] - 1
    lo = np.minimum.reduceat(y, starts)
    hi = np.maximum.reduceat(y, starts)
    # index of the min and max inside each column: first position where y equals the column's min / max
    seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    pos = np.arange(n)
    big = np.iinfo(np.int64).max
    imin = np.full(len(starts), big)
    imax = np.full(len(starts), big)
    np.minimum.at(imin, seg[y == lo[seg]], pos[y == lo[seg]])
    np.minimum.at(imax, seg[y == hi[seg]], pos[y == hi[seg]])
    keep = np.unique(np.concatenate([starts, ends, imin, imax]))
    return x[keep], y[keep]


@dataclass
class Chart:
    """One figure: a title, one plotting area with x and y axes, a legend above it."""

    width: float = 576.0  # px (8 in at 72 px per in, as QuantStats' figures)
    height: float = 288.0
    title: str = ""
    left: float = 58.0
    right: float = 16.0
    top: float = 46.0
    bottom: float = 28.0
    font: float = 10.0
    parts: list[str] = field(default_factory=list)
    legend: list[tuple[str, str, str]] = field(default_factory=list)  # (label, colour, "line" | "box")
    x0: float = 0.0
    x1: float = 1.0
    y0: float = 0.0
    y1: float = 1.0
    ident: str = "chart"  # unique on the page: names the clip path

    # ------------------------------------------------------------------------------------------- scales
    @property
    def pw(self) -> float:
        return self.width - self.left - self.right

    @property
    def ph(self) -> float:
        return self.height - self.top - self.bottom

    def set_x(self, x0: float, x1: float) -> None:
        self.x0, self.x1 = float(x0), float(x1) if x1 > x0 else float(x0) + 1.0

    def set_y(self, lo: float, hi: float, pad: float = 0.05) -> None:
        if not (math.isfinite(lo) and math.isfinite(hi)):
            lo, hi = 0.0, 1.0
        if hi <= lo:
            lo, hi = lo - (abs(lo) * 0.1 or 0.5), hi + (abs(hi) * 0.1 or 0.5)
        span = hi - lo
        self.y0, self.y1 = lo - pad * span, hi + pad * span

    def fit_y(self, *arrays: np.ndarray, include: Sequence[float] = (), pad: float = 0.05) -> None:
        vals = [np.asarray(a, dtype=float) for a in arrays]
        vals = [v[np.isfinite(v)] for v in vals]
        vals = [v for v in vals if v.size]
        lo = min([float(v.min()) for v in vals] + list(include)) if vals or include else 0.0
        hi = max([float(v.max()) for v in vals] + list(include)) if vals or include else 1.0
        self.set_y(lo, hi, pad)

    def px(self, x: np.ndarray | float) -> np.ndarray:
        return self.left + (np.asarray(x, dtype=float) - self.x0) / (self.x1 - self.x0) * self.pw

    def py(self, y: np.ndarray | float) -> np.ndarray:
        return self.top + (self.y1 - np.asarray(y, dtype=float)) / (self.y1 - self.y0) * self.ph

    # ------------------------------------------------------------------------------------------- marks
    def _points(self, x: np.ndarray, y: np.ndarray) -> str:
        # a tenth of a pixel is below what a screen shows; one format call per point keeps 10,000 points ~10 ms
        return " ".join(map("{:.1f},{:.1f}".format, self.px(x).tolist(), self.py(y).tolist()))

    def line(self, x: np.ndarray, y: np.ndarray, colour: str, label: str | None = None, width: float = 1.2,
             dash: str | None = None, opacity: float = 1.0) -> None:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        x, y = thin(x, y, self.px(x))
        if len(x):
            extra = f' stroke-dasharray="{dash}"' if dash else ""
            extra += f' stroke-opacity="{opacity:g}"' if opacity != 1.0 else ""
            self.parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="{width:g}" '
                              f'stroke-linejoin="round"{extra} points="{self._points(x, y)}"/>')
        if label is not None:
            self.legend.append((label, colour, "line"))

    def hline(self, y: float, colour: str = "#000000", width: float = 0.8, dash: str | None = None,
              label: str | None = None) -> None:
        if not math.isfinite(y) or not (self.y0 <= y <= self.y1):
            return
        py = coord(float(self.py(y)))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{coord(self.left)}" x2="{coord(self.left + self.pw)}" y1="{py}" y2="{py}" '
                          f'stroke="{colour}" stroke-width="{width:g}"{extra}/>')
        if label is not None:
            self.legend.append((label, colour, "line"))

    def vline(self, x: float, colour: str = "#000000", width: float = 0.8, dash: str | None = None) -> None:
        px = coord(float(self.px(x)))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{px}" x2="{px}" y1="{coord(self.top)}" y2="{coord(self.top + self.ph)}" '
                          f'stroke="{colour}" stroke-width="{width:g}"{extra}/>')

    def area(self, x: np.ndarray, y: np.ndarray, colour: str, base: float = 0.0, opacity: float = 0.5,
             label: str | None = None) -> None:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        x, y = thin(x, y, self.px(x))
        if len(x):
            b = coord(float(self.py(base)))
            pts = self._points(x, y)
            self.parts.append(f'<path fill="{colour}" fill-opacity="{opacity:g}" stroke="none" '
                              f'd="M{coord(float(self.px(x[0])))},{b} L{pts} L{coord(float(self.px(x[-1])))},{b} Z"/>')
        if label is not None:
            self.legend.append((label, colour, "box"))

    def stack(self, x: np.ndarray, layers: Sequence[np.ndarray], colours: Sequence[str], labels: Sequence[str],
              opacity: float = 0.85, step_post: bool = False) -> None:
        """Layers stacked from 0 upwards, one filled band each (``step_post``: each value holds until the next x)."""
        x = np.asarray(x, dtype=float)
        if step_post and len(x):
            x = np.r_[np.repeat(x, 2)[1:], x[-1]]
        lower = np.zeros(len(x))
        for ys, colour, label in zip(layers, colours, labels):
            ys = np.nan_to_num(np.asarray(ys, dtype=float))
            if step_post and len(ys):
                ys = np.repeat(ys, 2)
            upper = lower + ys
            if len(x):
                fwd = self._points(x, upper)
                back = self._points(x[::-1], lower[::-1])
                self.parts.append(f'<path fill="{colour}" fill-opacity="{opacity:g}" stroke="none" '
                                  f'd="M{fwd} L{back} Z"/>')
            self.legend.append((label, colour, "box"))
            lower = upper

    def ticks_at_bottom(self, xs: Sequence[float], colour: str = "#333333", frac: float = 0.04) -> None:
        """Short vertical marks rising from the bottom of the plot (e.g. model refits)."""
        base = self.top + self.ph
        h = self.ph * frac
        d = "".join(f"M{coord(float(self.px(x)))},{coord(base)}v{coord(-h)}" for x in xs)
        if d:
            self.parts.append(f'<path d="{d}" stroke="{colour}" stroke-width="0.5" stroke-opacity="0.8"/>')

    def span(self, xa: float, xb: float, colour: str, opacity: float = 0.15) -> None:
        a, b = float(self.px(max(xa, self.x0))), float(self.px(min(xb, self.x1)))
        self.parts.append(f'<rect x="{coord(a)}" y="{coord(self.top)}" width="{coord(max(b - a, 0.5))}" '
                          f'height="{coord(self.ph)}" fill="{colour}" fill-opacity="{opacity:g}"/>')

    def bars(self, left: np.ndarray, right: np.ndarray, height: np.ndarray, colour: str, opacity: float = 0.6,
             label: str | None = None) -> None:
        base = float(self.py(0.0))
        out = []
        for a, b, h in zip(self.px(left).tolist(), self.px(right).tolist(), np.asarray(height, float).tolist()):
            top = float(self.py(h))
            y, hh = min(top, base), abs(base - top)
            out.append(f'<rect x="{coord(a)}" y="{coord(y)}" width="{coord(max(b - a, 0.5))}" height="{coord(hh)}"/>')
        self.parts.append(f'<g fill="{colour}" fill-opacity="{opacity:g}">' + "".join(out) + "</g>")
        if label is not None:
            self.legend.append((label, colour, "box"))

    def text(self, x: float, y: float, s: str, size: float | None = None, anchor: str = "middle",
             colour: str = TEXT, bold: bool = False) -> str:
        weight = ' font-weight="bold"' if bold else ""
        return (f'<text x="{coord(x)}" y="{coord(y)}" font-size="{size or self.font:g}" text-anchor="{anchor}" '
                f'fill="{colour}"{weight}>{esc(s)}</text>')

    # ------------------------------------------------------------------------------------------- axes
    def _yaxis(self, fmt: Callable[[float], str] | None, ticks: np.ndarray | None,
               labels: Sequence[str] | None = None) -> str:
        if ticks is None:
            ticks = nice_ticks(self.y0, self.y1)
        ticks = [t for t in np.asarray(ticks, float).tolist() if self.y0 - 1e-12 <= t <= self.y1 + 1e-12]
        if fmt is None:
            d = tick_decimals(np.asarray(ticks))
            fmt = num_label(d)
        out = ['<g id="yaxis_1">']
        for i, t in enumerate(ticks):
            y = coord(float(self.py(t)))
            label = labels[i] if labels is not None else fmt(t)
            out.append(f'<line x1="{coord(self.left)}" x2="{coord(self.left + self.pw)}" y1="{y}" y2="{y}" '
                       f'stroke="{GRID}" stroke-width="0.8"/>')
            out.append(f'<g id="ytick_{i + 1}"><g id="text_y{i + 1}">'
                       + self.text(self.left - 5, float(self.py(t)) + self.font * 0.35, label, anchor="end")
                       + "</g></g>")
        out.append("</g>")
        return "".join(out)

    def _xaxis_dates(self) -> str:
        """Year ticks (every 1, 2, 5 or 10 years as the width allows), or month ticks on a short range."""
        start, end = pd.Timestamp(self.x0 * 86_400e9), pd.Timestamp(self.x1 * 86_400e9)
        years = end.year - start.year
        label_w = 4 * CHAR_W * self.font + 10
        fit = max(1, int(self.pw // label_w))
        ticks: list[tuple[float, str]] = []
        if years >= 3:
            step = next(s for s in (1, 2, 5, 10, 20, 50) if (years + 1) / s <= fit)
            for yr in range(start.year + (1 if start.month > 1 or start.day > 1 else 0), end.year + 1):
                if yr % step == 0:
                    ticks.append((pd.Timestamp(yr, 1, 1).value / 86_400e9, str(yr)))
        else:
            months = pd.date_range(start.normalize() + pd.offsets.MonthBegin(0), end, freq="MS")
            fit = max(1, int(self.pw // (8 * CHAR_W * self.font + 10)))
            step = next(s for s in (1, 2, 3, 6, 12, 24) if len(months) / s <= fit)
            for m in months:
                if (m.month - 1) % step == 0:
                    ticks.append((m.value / 86_400e9, f"{m:%b %Y}" if m.month == 1 or step >= 12 or m == months[0]
                                  else f"{m:%b}"))
        return self._xaxis(ticks)

    def _xaxis(self, ticks: Sequence[tuple[float, str]]) -> str:
        out = ['<g id="xaxis_1">']
        base = self.top + self.ph
        for i, (x, label) in enumerate(ticks):
            px = float(self.px(x))
            out.append(f'<line x1="{coord(px)}" x2="{coord(px)}" y1="{coord(base)}" y2="{coord(base + 4)}" stroke="{AXIS}" '
                       f'stroke-width="0.8"/>')
            out.append(f'<g id="xtick_{i + 1}"><g id="text_x{i + 1}">'
                       + self.text(px, base + 6 + self.font, label) + "</g></g>")
        out.append("</g>")
        return "".join(out)

    def legend_rows(self, labels: Sequence[str] | None = None) -> list[list[int]]:
        """Legend entries (indices) per row: a row ends where the next entry would pass the right edge."""
        labels = [lab for lab, _, _ in self.legend] if labels is None else list(labels)
        rows: list[list[int]] = [[]]
        x = self.left
        for i, label in enumerate(labels):
            w = 28 + len(label) * CHAR_W * (self.font - 0.5)
            if rows[-1] and x + w > self.width - self.right:
                rows.append([])
                x = self.left
            rows[-1].append(i)
            x += w
        return rows

    def reserve_legend(self, labels: Sequence[str]) -> None:
        """Room above the plot for a legend of `labels` (call before drawing: it moves the plotting area)."""
        self.top = 30.0 + 15.0 * len(self.legend_rows(labels))

    def _legend(self) -> str:
        if not self.legend:
            return ""
        out = []
        rows = self.legend_rows()
        for r, row in enumerate(rows):
            x = self.left
            y = self.top - 8 - 15 * (len(rows) - 1 - r)
            for i in row:
                label, colour, kind = self.legend[i]
                if kind == "line":
                    out.append(f'<line x1="{coord(x)}" x2="{coord(x + 16)}" y1="{coord(y - 3.5)}" y2="{coord(y - 3.5)}" '
                               f'stroke="{colour}" stroke-width="2"/>')
                else:
                    out.append(f'<rect x="{coord(x)}" y="{coord(y - 8)}" width="12" height="9" fill="{colour}" '
                               f'fill-opacity="0.7"/>')
                out.append(self.text(x + 20, y, label, size=self.font - 0.5, anchor="start"))
                x += 28 + len(label) * CHAR_W * (self.font - 0.5)
        return "".join(out)

    def svg(self, xaxis: str | Sequence[tuple[float, str]] | None = "dates",
            yfmt: Callable[[float], str] | None = None, yticks: np.ndarray | None = None,
            ylabels: Sequence[str] | None = None, ylabel: str | None = None, clip: bool = True) -> str:
        """The finished figure (an inline ``<svg>`` element, no XML prolog)."""
        w, h = coord(self.width), coord(self.height)
        cid = f"clip-{self.ident}"
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="{h}pt" viewBox="0 0 {w} {h}" '
                f'font-family="{FONT}">')
        defs = (f'<defs><clipPath id="{cid}"><rect x="{coord(self.left)}" y="{coord(self.top)}" width="{coord(self.pw)}" '
                f'height="{coord(self.ph)}"/></clipPath></defs>') if clip else ""
        frame = (f'<rect x="{coord(self.left)}" y="{coord(self.top)}" width="{coord(self.pw)}" height="{coord(self.ph)}" '
                 f'fill="none" stroke="{AXIS}" stroke-width="0.8"/>')
        title = self.text(self.left, 16, self.title, size=self.font + 2, anchor="start", bold=True)
        yaxis = self._yaxis(yfmt, yticks, ylabels)
        if xaxis == "dates":
            xa = self._xaxis_dates()
        elif xaxis is None:
            xa = ""
        else:
            xa = self._xaxis(xaxis)
        ylab = ""
        if ylabel:
            cy = self.top + self.ph / 2
            ylab = (f'<text transform="translate(12,{coord(cy)}) rotate(-90)" font-size="{self.font:g}" '
                    f'text-anchor="middle" fill="{TEXT}">{esc(ylabel)}</text>')
        body = f'<g clip-path="url(#{cid})">' + "".join(self.parts) + "</g>" if clip else "".join(self.parts)
        return (head + defs + '<rect width="100%" height="100%" fill="#ffffff"/>' + title + self._legend()
                + yaxis + body + frame + xa + ylab + "</svg>")
