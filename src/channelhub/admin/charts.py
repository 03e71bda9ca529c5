"""Charts drawn on the server as inline SVG: no JavaScript, nothing fetched from elsewhere."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#dc2626", "#ca8a04")


def bars(
    labels: Sequence[str], values: Sequence[float], unit: str = "", width: int = 520
) -> Markup:
    """A horizontal bar chart, one bar per label, with its value written at the end."""
    if not values:
        return Markup('<p class="muted">no data yet</p>')
    row, gap, label_w = 22, 6, 120
    top = max(max(values), 1e-9)
    height = len(values) * (row + gap)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet">'
    ]
    span = width - label_w - 90
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = i * (row + gap)
        w = max(1, round(span * value / top)) if value > 0 else 0
        color = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="0" y="{y + 15}" class="axis">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{row}" fill="{color}" rx="3">'
            f"<title>{escape(label)}: {value:,.2f}{escape(unit)}</title></rect>"
            f'<text x="{label_w + w + 6}" y="{y + 15}" class="value">'
            f"{value:,.2f}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def lines(
    buckets: Sequence[str],
    series: Mapping[str, Sequence[float]],
    width: int = 640,
    height: int = 200,
) -> Markup:
    """A line per series over the buckets (oldest left), with a legend."""
    if not buckets or not series:
        return Markup('<p class="muted">no data yet</p>')
    pad_l, pad_b, pad_t = 50, 24, 10
    plot_w, plot_h = width - pad_l - 10, height - pad_b - pad_t
    top = max((max(values) for values in series.values() if values), default=0) or 1
    step = plot_w / max(1, len(buckets) - 1)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height + 20 * len(series)}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{width - 10}" y2="{pad_t + plot_h}" '
        'class="grid"/>',
        f'<text x="0" y="{pad_t + 10}" class="axis">{top:,.0f}</text>',
        f'<text x="0" y="{pad_t + plot_h}" class="axis">0</text>',
        f'<text x="{pad_l}" y="{height - 4}" class="axis">{escape(buckets[0])}</text>',
        f'<text x="{width - 10}" y="{height - 4}" class="axis" text-anchor="end">'
        f"{escape(buckets[-1])}</text>",
    ]
    for i, (name, values) in enumerate(sorted(series.items())):
        color = PALETTE[i % len(PALETTE)]
        points = " ".join(
            f"{pad_l + j * step:.1f},{pad_t + plot_h - plot_h * v / top:.1f}"
            for j, v in enumerate(values)
        )
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        if len(values) <= 40:  # dots where a line alone would be hard to read (or invisible)
            for point in points.split():
                cx, cy = point.split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="{color}"/>')
        y = height + 14 + 20 * i
        parts.append(
            f'<rect x="{pad_l}" y="{y - 10}" width="12" height="12" fill="{color}"/>'
            f'<text x="{pad_l + 18}" y="{y}" class="axis">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
