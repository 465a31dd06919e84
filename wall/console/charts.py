"""Charts drawn on the server as SVG: no script, no third party, readable on a phone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

# Colour-blind-safe palette (Okabe–Ito), one colour per network in a fixed order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def stacked_bars(labels: Sequence[str], series: Sequence[Series], title: str) -> str:
    """Vertical stacked bars, one per label (hours), a legend under the chart."""
    width, height, left, bottom, top = 720, 260, 36, 40, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    peak = _nice_max(max(totals, default=0) or 1)
    slot = plot_w / max(len(labels), 1)
    parts = [_open(width, height + 24 * ((len(series) + 3) // 4), title)]
    for tick in range(5):
        value = peak * tick // 4
        y = top + plot_h - plot_h * value / peak
        parts.append(
            f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d8dee6"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#5b6774">{value}</text>'
        )
    for i, label in enumerate(labels):
        x, base = left + i * slot + slot * 0.15, float(top + plot_h)
        for index, item in enumerate(series):
            h = plot_h * item.values[i] / peak
            if h > 0:
                base -= h
                parts.append(
                    f'<rect x="{x:.1f}" y="{base:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                    f'fill="{PALETTE[index % len(PALETTE)]}"><title>{escape(label)} · '
                    f"{escape(item.name)} : {item.values[i]}</title></rect>"
                )
        if i % 3 == 0:
            parts.append(
                f'<text x="{x + slot * 0.35:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" fill="#5b6774">{escape(label)}</text>'
            )
    parts += _legend([s.name for s in series], height)
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(rows: Sequence[tuple[str, int]], title: str) -> str:
    """One bar per row (contributors, delays), the value at its end."""
    row_h, left, width = 26, 170, 480
    height = max(len(rows), 1) * row_h + 8
    peak = max((v for _, v in rows), default=0) or 1
    parts = [_open(width, height, title)]
    for i, (label, value) in enumerate(rows):
        y = 4 + i * row_h
        w = (width - left - 50) * value / peak
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="13" fill="#16202b">{escape(label[:28])}</text>'
        )
        parts.append(
            f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" rx="3" fill="{PALETTE[0]}"/>'
        )
        parts.append(
            f'<text x="{left + w + 6:.1f}" y="{y + 17}" font-size="13" fill="#16202b">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" font-family="DejaVu Sans, sans-serif"><title>{escape(title)}</title>'
    )


def _legend(names: Sequence[str], y0: int) -> list[str]:
    parts = []
    for index, name in enumerate(names):
        x, y = 40 + (index % 4) * 170, y0 + 4 + (index // 4) * 24
        parts.append(
            f'<rect x="{x}" y="{y}" width="14" height="14" fill="{PALETTE[index % len(PALETTE)]}"/>'
        )
        parts.append(
            f'<text x="{x + 20}" y="{y + 12}" font-size="12" fill="#16202b">{escape(name)}</text>'
        )
    return parts
