"""The report's two pictures as inline SVG: pass rate per mode, and per HOP since when it passes.

Pure functions of ``compat.overview``'s values to ``Markup``; every text goes
through ``markupsafe`` escaping, nothing is fetched and no script runs. Both
pictures share one x axis (a column per target, build families apart), and
neither needs colour to be read: each mode has its own marker and dash, each
HOP cell its own glyph, and every point and cell has a ``<title>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from compat.model import TargetInfo
from compat.overview import HopOverview, ModeRate
from suites.schema import Mode

LEFT = 190  # room for a HOP's name
RIGHT = 20
PLOT_H = 150
LABELS_H = 60  # rotated version labels, and the families' names under them
ROW_H = 18

# Okabe-Ito colours (its yellow darkened to read on white), each mode also with a marker
# and a dash of its own.
_MODE_LOOK: Mapping[Mode, tuple[str, str, str]] = {
    Mode.AOT: ("#0072b2", "circle", ""),
    Mode.STRICT: ("#d55e00", "square", "6 3"),
    Mode.PRE_DISPATCH: ("#009e73", "up", "2 2"),
    Mode.RETRACE: ("#cc79a7", "diamond", "8 3 2 3"),
    Mode.SERIALIZE: ("#e69f00", "down", "4 2 1 2"),
    Mode.NON_STRICT: ("#56b4e9", "cross", "1 3"),
    Mode.DYNAMIC: ("#000000", "plus", "7 2 1 2 1 2"),
    Mode.AOTI: ("#8f7f00", "bowtie", "10 3"),
}
_HOP_LOOK = {  # (css class, glyph, words)
    "all": ("hp-all", "✓", "every mode that ran passes"),
    "some": ("hp-some", "◐", "some modes pass"),
    "none": ("hp-none", "✗", "no mode passes"),
    "idle": ("hp-idle", "", "no cell ran"),
}


@dataclass(frozen=True)
class Axis:
    """Where each target's column is: families apart, in report order."""

    ids: tuple[str, ...]
    xs: tuple[float, ...]
    step: float
    families: tuple[tuple[str, float, float], ...]  # (family, first x, last x)

    @property
    def end(self) -> float:
        """Where the last column ends."""
        return (self.xs[-1] if self.xs else LEFT) + self.step / 2


def resolve_axis(targets: Sequence[TargetInfo]) -> Axis:
    """A column per target, ``step`` wide (narrower as targets grow), a half step between
    build families."""
    step = max(20.0, min(44.0, 900.0 / max(1, len(targets))))
    xs: list[float] = []
    families: list[tuple[str, float, float]] = []
    x = LEFT + step / 2
    for i, t in enumerate(targets):
        if i and t.family != targets[i - 1].family:
            x += step / 2
        xs.append(x)
        if families and families[-1][0] == t.family:
            families[-1] = (t.family, families[-1][1], x)
        else:
            families.append((t.family, x, x))
        x += step
    return Axis(tuple(t.id for t in targets), tuple(xs), step, tuple(families))


def _marker(shape: str, x: float, y: float) -> str:
    """An SVG path for a marker centred on (x, y)."""
    r = 3.6
    shapes = {
        "circle": f"M{x - r:.1f},{y:.1f}a{r},{r} 0 1,0 {2 * r},0a{r},{r} 0 1,0 {-2 * r},0",
        "square": f"M{x - r:.1f},{y - r:.1f}h{2 * r}v{2 * r}h{-2 * r}z",
        "up": f"M{x:.1f},{y - r - 1:.1f}l{r + 0.6},{2 * r}h{-2 * r - 1.2}z",
        "down": f"M{x:.1f},{y + r + 1:.1f}l{r + 0.6},{-2 * r}h{-2 * r - 1.2}z",
        "diamond": f"M{x:.1f},{y - r - 1:.1f}l{r + 1},{r + 1}l{-r - 1},{r + 1}l{-r - 1},{-r - 1}z",
        "cross": f"M{x - r:.1f},{y - r:.1f}l{2 * r},{2 * r}m0,{-2 * r}l{-2 * r},{2 * r}",
        "plus": f"M{x - r - 1:.1f},{y:.1f}h{2 * r + 2}M{x:.1f},{y - r - 1:.1f}v{2 * r + 2}",
        "bowtie": f"M{x - r:.1f},{y - r:.1f}L{x + r:.1f},{y + r:.1f}V{y - r:.1f}L{x - r:.1f},"
        f"{y + r:.1f}z",
    }
    return shapes[shape]


def _x_labels(axis: Axis, names: Mapping[str, str], top: float) -> list[Markup]:
    """Rotated version labels under ``top``, and each family's name under its columns."""
    out = []
    for target, x in zip(axis.ids, axis.xs, strict=True):
        out.append(
            Markup(
                '<text class="xl" x="{0:.1f}" y="{1:.1f}" text-anchor="end" '
                'transform="rotate(-55 {0:.1f} {1:.1f})">{2}<title>{3}</title></text>'
            ).format(x + 4, top + 12, names[target], target)
        )
    for family, first, last in axis.families:
        out.append(
            Markup('<text class="fam" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>').format(
                (first + last) / 2, top + LABELS_H - 2, family
            )
        )
    return out


def render_pass_rate_svg(
    rates: Sequence[ModeRate], targets: Sequence[TargetInfo], names: Mapping[str, str]
) -> Markup:
    """Per mode, the share of its cells that pass on each target, a line per build family."""
    axis = resolve_axis(targets)
    top = 28
    height = top + PLOT_H + LABELS_H + 4
    family_of = {t.id: t.family for t in targets}
    parts: list[Markup] = []
    for pct in (0, 25, 50, 75, 100):
        y = top + PLOT_H * (1 - pct / 100)
        parts.append(
            Markup(
                '<line class="grid" x1="{0}" x2="{1:.1f}" y1="{2:.1f}" y2="{2:.1f}"/>'
                '<text class="yl" x="{3}" y="{4:.1f}" text-anchor="end">{5}%</text>'
            ).format(LEFT - 6, axis.end, y, LEFT - 10, y + 4, pct)
        )
    for i, rate in enumerate(rates):
        colour, shape, dash = _MODE_LOOK[rate.mode]
        nudge = (i - (len(rates) - 1) / 2) * 1.5  # equal rates do not hide each other
        line: list[str] = []
        marks: list[Markup] = []
        previous = ""
        for (target, passing, ran), x in zip(rate.points, axis.xs, strict=True):
            if not ran:
                previous = ""
                continue
            y = top + PLOT_H * (1 - passing / ran)
            joined = previous == family_of[target]
            line.append(f"{'L' if joined else 'M'}{x + nudge:.1f},{y:.1f}")
            previous = family_of[target]
            marks.append(
                Markup('<path class="mk" d="{}"><title>{}</title></path>').format(
                    _marker(shape, x + nudge, y),
                    f"{rate.mode} on {target}: {passing} of {ran} cells pass "
                    f"({100 * passing / ran:.0f}%)",
                )
            )
        parts.append(
            Markup(
                '<g class="mode" data-mode="{}" stroke="{}" fill="{}">'
                '<path class="ln" d="{}" stroke-dasharray="{}"/>{}</g>'
            ).format(
                rate.mode, colour, colour, " ".join(line), dash or "none", Markup("").join(marks)
            )
        )
    parts += _legend(rates, top)
    parts += _x_labels(axis, names, top + PLOT_H)
    return _svg(
        max(axis.end + RIGHT, _legend_end(rates)),
        height,
        "pass rate per mode",
        "Per mode: of the cells that ran on each target (expected failures left out), "
        "the share that pass.",
        parts,
    )


def _legend(rates: Sequence[ModeRate], top: float) -> list[Markup]:
    out = []
    x = float(LEFT)
    for rate in rates:
        colour, shape, dash = _MODE_LOOK[rate.mode]
        out.append(
            Markup(
                '<g class="lg" stroke="{0}" fill="{0}"><path class="ln" d="M{1:.1f},{2}h22" '
                'stroke-dasharray="{3}"/><path class="mk" d="{4}"/>'
                '<text x="{5:.1f}" y="{6}" stroke="none" fill="currentColor">{7}</text></g>'
            ).format(
                colour,
                x,
                top - 16,
                dash or "none",
                _marker(shape, x + 11, top - 16),
                x + 27,
                top - 12,
                rate.mode,
            )
        )
        x += _legend_width(rate.mode)
    return out


def _legend_width(mode: Mode) -> float:
    return 40 + 7.2 * len(str(mode))


def _legend_end(rates: Sequence[ModeRate]) -> float:
    return LEFT + sum(_legend_width(r.mode) for r in rates)


def render_hop_since_svg(
    hops: Sequence[HopOverview], targets: Sequence[TargetInfo], names: Mapping[str, str]
) -> Markup:
    """Per HOP and target whether every mode passes, and from which version of each build
    family it does for good."""
    axis = resolve_axis(targets)
    top = 6
    height = top + ROW_H * len(hops) + LABELS_H + 4
    x_of = dict(zip(axis.ids, axis.xs, strict=True))
    parts: list[Markup] = []
    longest = 0
    for r, hop in enumerate(hops):
        y = top + r * ROW_H
        parts.append(
            Markup('<text class="hop" x="{}" y="{:.1f}" text-anchor="end">{}</text>').format(
                LEFT - 10, y + 12.5, hop.hop
            )
        )
        for point in hop.points:
            css, glyph, words = _HOP_LOOK[point.grade]
            x = x_of[point.target] - axis.step / 2 + 1
            title = f"{hop.hop} on {point.target}: {words}"
            if point.ran:
                title += f" ({point.passing} of {point.ran} modes)"
            parts.append(
                Markup(
                    '<g class="{}"><rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{}" rx="2"/>'
                    '<text x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>'
                    "<title>{}</title></g>"
                ).format(
                    css,
                    x,
                    y + 1,
                    axis.step - 2,
                    ROW_H - 3,
                    x_of[point.target],
                    y + 12.5,
                    glyph,
                    title,
                )
            )
        words = _since_words(hop, names)
        longest = max(longest, len(words))
        parts += _since_bars(hop, x_of, axis, y)
        parts.append(
            Markup('<text class="sincel" x="{:.1f}" y="{:.1f}">{}</text>').format(
                axis.end + 10, y + 12.5, words
            )
        )
    parts += _x_labels(axis, names, top + ROW_H * len(hops))
    return _svg(
        axis.end + 20 + 6.6 * longest,
        height,
        "since when every mode passes, per HOP",
        "Per HOP and target: ✓ every mode that ran passes, ◐ some do, ✗ none, blank: no cell "
        "ran; a bar marks the versions from which every mode passes for good.",
        parts,
    )


def _since_bars(hop: HopOverview, x_of: Mapping[str, float], axis: Axis, y: float) -> list[Markup]:
    """A bar under the versions of each family from which every mode passes for good."""
    out = []
    for line in hop.families:
        if line.since is not None:
            end = line.spans[-1].targets[-1]
            out.append(
                Markup(
                    '<line class="since" x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}"/>'
                ).format(
                    x_of[line.since] - axis.step / 2 + 2,
                    x_of[end] + axis.step / 2 - 2,
                    y + 16,
                    y + 16,
                )
            )
    return out


def _since_words(hop: HopOverview, names: Mapping[str, str]) -> str:
    """``every mode: cuda ≥2.7.1, cpu ≤2.13.0``, or ``not yet`` for a family."""
    words = []
    for line in hop.families:
        if line.since is None:
            words.append(f"{line.family} not yet")
        else:
            sign = "≤" if line.at_oldest else "≥"
            words.append(f"{line.family} {sign}{names[line.since]}")
    return "every mode: " + ", ".join(words)


def _svg(width: float, height: float, title: str, desc: str, parts: Sequence[Markup]) -> Markup:
    return Markup(
        '<svg class="chart" role="img" width="{0:.0f}" '
        'height="{1:.0f}" viewBox="0 0 {0:.0f} {1:.0f}"><title>{2}</title><desc>{3}</desc>'
        "{4}</svg>"
    ).format(width, height, title, desc, Markup("").join(parts))
