"""The one palette for regimes: every picture of the same regimes (the tearsheet's figures, `regimeshift regimes`'
regimes.png, the comparison pages) paints a regime in the same colour.

Kept in core, below the stages, because the regimes layer draws regimes.png and may not import reports.
"""
from __future__ import annotations

from collections.abc import Sequence

#: Fixed colours for the shipped regime names (calm green, amber, stressed red).
KNOWN_REGIME_COLOURS = {
    "abundant": "#2e9e4f",  # green
    "tightening": "#f0a202",  # amber
    "crunch": "#d62828",  # red
}
#: Other names are spread along this ramp by their position in the calm -> stressed order.
CALM_TO_STRESS = ("#2e9e4f", "#f0a202", "#d62828")


def regime_colours(names: Sequence[str]) -> dict[str, str]:
    """Colour per regime; known names get fixed colours, others are spread calm (green) -> stressed (red)."""
    names = [str(n) for n in names]
    if all(name.lower() in KNOWN_REGIME_COLOURS for name in names):  # the shipped names: no matplotlib needed
        return {name: KNOWN_REGIME_COLOURS[name.lower()] for name in names}
    from matplotlib.colors import LinearSegmentedColormap, to_hex  # noqa: PLC0415  (only for names of one's own)

    ramp = LinearSegmentedColormap.from_list("calm_to_stress", list(CALM_TO_STRESS))
    n = len(names)
    return {name: KNOWN_REGIME_COLOURS.get(name.lower()) or to_hex(ramp(i / (n - 1) if n > 1 else 0.0))
            for i, name in enumerate(names)}
