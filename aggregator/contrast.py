"""Colours as the event writes them (#rrggbb) and their contrast as WCAG 2.x measures it.

Relative luminance and contrast ratio follow WCAG 2.2's definitions (understanding
"contrast-minimum"): sRGB channels linearised with the 0.04045 threshold, weighted
0.2126 / 0.7152 / 0.0722, and (lighter + 0.05) / (darker + 0.05).
"""

from __future__ import annotations

import re

HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
# WCAG AA for body text (1.4.3): what every colour pair on a screen must reach.
AA_TEXT = 4.5


def hex_colour(value: str) -> str:
    """`#abc`, `abc` or `#AABBCC` as `#aabbcc`; a ValueError for anything else."""
    found = HEX.fullmatch(value.strip())
    if not found:
        raise ValueError("must be a hex colour such as #1d4f91")
    digits = found.group(1).lower()
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


def channels(colour: str) -> tuple[int, int, int]:
    digits = hex_colour(colour)[1:]
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    r, g, b = (_linear(c) for c in channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(one: str, other: str) -> float:
    """The contrast ratio of two colours, from 1 (same) to 21 (black on white)."""
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def mix(base: str, other: str, amount: float) -> str:
    """`base` moved `amount` (0..1) of the way towards `other`, as sRGB hex."""
    mixed = (
        round(a + (b - a) * amount) for a, b in zip(channels(base), channels(other), strict=True)
    )
    return "#" + "".join(f"{c:02x}" for c in mixed)


def readable_on(background: str, candidates: tuple[str, ...]) -> str:
    """The candidate that contrasts most with `background`."""
    return max(candidates, key=lambda colour: ratio(colour, background))
