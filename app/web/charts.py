"""Charts drawn on the server as SVG: no script, no CDN, readable without them.

Each chart is an image with a title and a description (`role="img"`, `<title>`, `<desc>`) that
say what it shows; the page puts the same figures in a table right after it. Colours come from
the stylesheet (`.chart .s0`, `.s1`), so print and high-contrast styles can change them."""

from dataclasses import dataclass

from markupsafe import Markup, escape

LABEL_WIDTH = 170
BAR_AREA = 360
ROW = 18
GAP = 10


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]


def _head(chart_id: str, width: int, height: int, title: str, desc: str) -> str:
    return (
        f'<svg class="chart" id="{escape(chart_id)}" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>'
    )


def _legend(series: list[Series], y: int) -> str:
    parts, x = [], 0
    for index, s in enumerate(series):
        parts.append(
            f'<rect class="s{index}" x="{x}" y="{y}" width="12" height="12"/>'
            f'<text x="{x + 16}" y="{y + 11}">{escape(s.name)}</text>'
        )
        x += 24 + 8 * len(s.name)
    return "".join(parts)


def bars(
    chart_id: str,
    title: str,
    desc: str,
    labels: list[str],
    series: list[Series],
    shown: list[list[str]],
) -> Markup:
    """Horizontal bars, one group per label, one bar per series; `shown[s][i]` is the text
    printed at the end of bar i of series s (a count, a percentage)."""
    top = max((v for s in series for v in s.values), default=0) or 1
    group = ROW * len(series) + GAP
    legend = 20 if len(series) > 1 else 0
    height = legend + group * max(len(labels), 1) + 4
    width = LABEL_WIDTH + BAR_AREA + 60
    parts = [_head(chart_id, width, height, title, desc)]
    if legend:
        parts.append(_legend(series, 0))
    for i, label in enumerate(labels):
        y0 = legend + i * group
        parts.append(
            f'<text class="label" x="{LABEL_WIDTH - 6}" y="{y0 + ROW * len(series) / 2 + 4}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        for s_index, s in enumerate(series):
            length = round(BAR_AREA * s.values[i] / top, 1)
            y = y0 + s_index * ROW
            parts.append(
                f'<rect class="s{s_index}" x="{LABEL_WIDTH}" y="{y + 2}" width="{length}" '
                f'height="{ROW - 4}"/>'
                f'<text x="{LABEL_WIDTH + length + 4}" y="{y + ROW - 5}">'
                f"{escape(shown[s_index][i])}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(
    chart_id: str, title: str, desc: str, labels: list[str], series: list[Series]
) -> Markup:
    """Vertical columns over time, one group per label (a week), one column per series, with
    the largest value marked on the axis."""
    top = max((v for s in series for v in s.values), default=0) or 1
    plot_height, left, bottom, legend = 160, 36, 34, 20
    column = 12
    group = max(column * len(series) + 10, 46)  # room for a "Sep 14" under each week
    width = left + group * max(len(labels), 1) + 10
    height = legend + plot_height + bottom
    base = legend + plot_height
    parts = [
        _head(chart_id, max(width, 320), height, title, desc),
        _legend(series, 0),
        f'<line class="axis" x1="{left}" y1="{base}" x2="{width}" y2="{base}"/>',
        f'<text x="{left - 4}" y="{legend + 10}" text-anchor="end">{round(top)}</text>',
        f'<text x="{left - 4}" y="{base}" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        x0 = left + 6 + i * group
        for s_index, s in enumerate(series):
            h = round(plot_height * s.values[i] / top, 1)
            parts.append(
                f'<rect class="s{s_index}" x="{x0 + s_index * column}" y="{base - h}" '
                f'width="{column - 2}" height="{h}"><title>{escape(label)}, {escape(s.name)}: '
                f"{s.values[i]:g}</title></rect>"
            )
        if len(labels) <= 13 or i % 2 == 0:
            parts.append(
                f'<text class="tick" x="{x0 + group / 2 - 5}" y="{base + 14}" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
