"""Chart geometry for the dashboard's server-rendered SVG (templates/dashboard/_chart.html draws it).

No chart library: a chart is a few bars, a polyline and some axis labels, and computing
them here keeps the template free of arithmetic and the page free of JavaScript.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 12, 26


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    series: str
    label: str


@dataclass(frozen=True)
class Line:
    series: str
    path: str
    area: str


@dataclass
class Chart:
    id: str
    title: str
    desc: str
    legend: list[tuple[str, str, int]]  # (series class, label, total)
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    grid: list[tuple[float, str]] = field(default_factory=list)  # (y, label)
    xlabels: list[tuple[float, str]] = field(default_factory=list)  # (x, label)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return all(total == 0 for _, _, total in self.legend)


def nice_ceiling(value: float) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above `value` (at least 4), so gridlines land on round numbers."""
    if value <= 4:
        return 4
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)


def _frame(chart: Chart, top_value: int) -> None:
    plot_h = chart.baseline - TOP
    for k in range(5):
        value = top_value * k / 4
        label = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
        chart.grid.append((round(chart.baseline - plot_h * k / 4, 1), label))


def _y(chart: Chart, value: float, top_value: int) -> float:
    return chart.baseline - (chart.baseline - TOP) * value / top_value


def _bar(chart: Chart, x: float, width: float, value: int, top_value: int, series: str, label: str) -> Bar:
    y = _y(chart, value, top_value)
    return Bar(round(x, 1), round(y, 1), round(max(width, 0.5), 1), round(chart.baseline - y, 1), series, label)


def _date_label(day: date) -> str:
    return day.strftime("%b ") + str(day.day)


def _xlabels(chart: Chart, days: list[date], slot: float, every: int) -> None:
    for i, day in enumerate(days):
        if i % every == 0:
            chart.xlabels.append((round(chart.left + slot * (i + 0.5), 1), _date_label(day)))


def bars_and_line(
    chart_id: str,
    title: str,
    days: list[date],
    bars: tuple[str, str, list[int]],
    line: tuple[str, str, list[int]] | None = None,
    *,
    unit: str = "day",
    paired: bool = False,
    width: int = WIDTH,
) -> Chart:
    """One bar per day (or week) for the first series; a second series as a line over it, or `paired` bars."""
    bar_series, bar_label, bar_values = bars
    legend = [(bar_series, bar_label, sum(bar_values))]
    values = list(bar_values)
    if line:
        legend.append((line[0], line[1], sum(line[2])))
        values += line[2]
    top_value = nice_ceiling(max(values, default=0))
    first, last = (_date_label(days[0]), _date_label(days[-1])) if days else ("", "")
    desc = f"{bar_label} per {unit} from {first} to {last}: {sum(bar_values):,} in total"
    if line:
        desc += f"; {line[1].lower()}: {sum(line[2]):,}"
    # The viewBox width follows the space the chart gets, so its 11px labels stay 11px on screen.
    chart = Chart(id=chart_id, title=title, desc=desc + ".", legend=legend, width=width)
    _frame(chart, top_value)
    slot = (width - LEFT - RIGHT) / max(len(days), 1)
    gap = max(slot * 0.2, 1) if slot > 4 else 0.5
    for i, (day, value) in enumerate(zip(days, bar_values, strict=True)):
        label = f"{_date_label(day)}: {value:,} {bar_label.lower()}"
        if line:
            label += f", {line[2][i]:,} {line[1].lower()}"
        x = LEFT + slot * i + gap / 2
        bar_w = (slot - gap) / 2 if line and paired else slot - gap
        chart.bars.append(_bar(chart, x, bar_w, value, top_value, bar_series, label))
        if line and paired:
            chart.bars.append(_bar(chart, x + bar_w, bar_w, line[2][i], top_value, line[0], label))
    if line and days and not paired:
        points = [(LEFT + slot * (i + 0.5), _y(chart, v, top_value)) for i, v in enumerate(line[2])]
        path = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
        area = f"{path} L{points[-1][0]:.1f},{chart.baseline:.1f} L{points[0][0]:.1f},{chart.baseline:.1f} Z"
        chart.lines.append(Line(line[0], path, area))
    _xlabels(chart, days, slot, every=max(1, math.ceil(len(days) / (width // 110))))
    return chart
