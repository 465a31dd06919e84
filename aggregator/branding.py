"""The event's look: logo, colours, font and stylesheet, for all screens and per screen.

`[branding]` sets them for every screen and a `[[screens]]` entry may set the same keys for
itself. The colours are checked when the settings are read: every pair a screen draws text
with (text on the background and on the cards, the accent as text there, text on the accent)
must reach WCAG AA's 4.5:1, or livewall refuses to start and says which key to change.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Literal
from xml.etree import ElementTree

from PIL import Image, UnidentifiedImageError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from aggregator.contrast import AA_TEXT, hex_colour, luminance, mix, ratio, readable_on

HexColour = Annotated[str, AfterValidator(hex_colour)]
FontName = Literal["open-sans", "fira-sans", "source-serif-4"]
LOGO_BYTES = 2 * 1024 * 1024
STYLESHEET_BYTES = 256 * 1024
# A background this luminous or more is a light one (its cards are lighter still).
LIGHT = 0.45
RASTER_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


@dataclass(frozen=True)
class Font:
    family: str
    weights: tuple[int, ...]
    fallback: str  # the generic family a browser uses while the file loads


# The fonts bundled in wall/static/fonts/ (open licences, next to them), one file per weight,
# cut to Latin and Latin-1 with general punctuation (what French and English posts use; other
# letters and emoji fall back to the system's fonts) so a screen's first load stays light:
#   pyftsubset F.woff2 --flavor=woff2 --layout-features='*' --output-file=F.woff2 \
#     --unicodes="U+0000-00FF,U+0131,U+0152-0153,U+02BB-02BC,U+02C6,U+02DA,U+02DC,U+2000-206F,\
#     U+2074,U+20AC,U+2122,U+2191,U+2193,U+2212,U+2215,U+FEFF,U+FFFD"
FONTS: dict[str, Font] = {
    "open-sans": Font("Open Sans", (400, 600, 700, 800), "sans-serif"),
    "fira-sans": Font("Fira Sans", (400, 500), "sans-serif"),
    "source-serif-4": Font("Source Serif 4", (400, 600, 700), "serif"),
}


class BrandKeys(BaseModel):
    """The keys of `[branding]`, which a `[[screens]]` entry may also set for itself."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    logo: str | None = Field(
        default=None,
        description="Logo shown beside the event's name: a PNG, JPEG, WebP, GIF or SVG file "
        "(at most 2 MB, relative to the config file), served from /branding/.",
    )
    accent: HexColour | None = Field(
        default=None,
        description="Accent colour (#rrggbb): hashtag, links, ticker band; must reach 4.5:1 "
        "on the background.",
    )
    accent_text: HexColour | None = Field(
        default=None,
        description="Text drawn on the accent (default: the more readable of near-white and "
        "near-black).",
    )
    background: HexColour | None = Field(
        default=None, description="Background colour (#rrggbb); cards are drawn a shade from it."
    )
    text: HexColour | None = Field(
        default=None,
        description="Text colour (default: the more readable of near-white and near-black "
        "on the background).",
    )
    font: FontName | None = Field(
        default=None,
        description="One of the bundled fonts: open-sans, fira-sans or source-serif-4 "
        "(default: the system's Noto Sans or DejaVu Sans).",
    )
    stylesheet: str | None = Field(
        default=None,
        description="A CSS file (relative to the config file) linked after livewall's own, "
        "for what the keys above do not cover.",
    )


COLOUR_KEYS = ("accent", "accent_text", "background", "text")
FILE_KEYS = ("logo", "stylesheet")


@dataclass(frozen=True)
class Palette:
    """The colours a screen draws with, as CSS custom properties of wall.css."""

    background: str
    background_2: str
    card: str
    text: str
    muted: str
    accent: str
    accent_text: str

    def css_variables(self) -> dict[str, str]:
        return {
            "--bg": self.background,
            "--bg2": self.background_2,
            "--card": self.card,
            "--ink": self.text,
            "--muted": self.muted,
            "--accent": self.accent,
            "--accent-2": self.accent,
            "--accent-ink": self.accent_text,
        }


# wall.css's own themes: what a screen shows where the event sets no colour.
THEMES = {
    "dark": Palette("#0a0f1e", "#121b33", "#17213b", "#f5f7fc", "#a9b5cb", "#3fd0ff", "#04121c"),
    "light": Palette("#e9eef5", "#f7f9fc", "#ffffff", "#0b1222", "#465269", "#0057b8", "#ffffff"),
}
INKS = (THEMES["dark"].text, THEMES["light"].text)


@dataclass(frozen=True)
class Brand:
    """One screen's look, its keys merged (the screen's own over `[branding]`)."""

    values: Mapping[str, str]  # the keys set, after merging
    keys: Mapping[str, str]  # where each was set: "branding.accent" or "screens[1].accent"
    palette: Palette
    config_dir: Path

    @property
    def custom_colours(self) -> bool:
        return any(key in self.values for key in COLOUR_KEYS)

    @property
    def font(self) -> Font | None:
        name = self.values.get("font")
        return FONTS[name] if name else None

    def file(self, key: str) -> Path | None:
        name = self.values.get(key)
        return self.config_dir / name if name else None


def brand_of(
    general: BrandKeys,
    own: BrandKeys | None,
    theme: str,
    config_dir: Path,
    index: int | None = None,
) -> Brand:
    """The look of a screen (`own`: its entry, number `index`) or, without one, of `[branding]`."""
    values: dict[str, str] = {}
    keys: dict[str, str] = {}
    for name in BrandKeys.model_fields:
        for where, layer in (("branding", general), (f"screens[{index}]", own)):
            value = getattr(layer, name) if layer is not None else None
            if value is not None:
                values[name], keys[name] = value, f"{where}.{name}"
    return Brand(values, keys, palette(values, THEMES.get(theme, THEMES["dark"])), config_dir)


def palette(values: Mapping[str, str], theme: Palette) -> Palette:
    """The theme's colours with the event's own: cards, muted text and inks follow from them."""
    colours = theme
    if "background" in values:
        background = values["background"]
        text = values.get("text") or readable_on(background, INKS)
        # Cards stand out the way the themes' do: lighter on a light ground, a shade of the
        # text on a dark one.
        lift = "#ffffff" if luminance(background) > LIGHT else text
        card = mix(background, lift, 0.7 if lift == "#ffffff" else 0.07)
        colours = Palette(
            background, mix(background, lift, 0.04), card, text, muted(text, card), "", ""
        )
    elif "text" in values:
        colours = replace(colours, text=values["text"])
    accent = values.get("accent") or theme.accent
    accent_text = values.get("accent_text") or (
        readable_on(accent, INKS) if "accent" in values else theme.accent_text
    )
    return replace(colours, accent=accent, accent_text=accent_text)


def muted(text: str, card: str) -> str:
    """Secondary text: as far towards the card as it can go and still read at 4.5:1."""
    for step in range(9, -1, -1):
        candidate = mix(text, card, step * 0.05)
        if ratio(candidate, card) >= AA_TEXT + 0.05:
            return candidate
    return text


def contrast_problems(brand: Brand) -> list[tuple[str, str, str]]:
    """(key, problem, value) for each pair of the screen's colours below WCAG AA."""
    if not brand.custom_colours:
        return []
    p, found = brand.palette, []
    grounds = {"background": p.background, "cards": p.card, "accent": p.accent}
    pairs = (
        ("text", p.text, ("background", "cards")),
        ("accent", p.accent, ("background", "cards")),
        ("accent_text", p.accent_text, ("accent",)),
    )
    for key, colour, under in pairs:
        worst = min(under, key=lambda ground: ratio(colour, grounds[ground]))
        measured = ratio(colour, grounds[worst])
        if measured < AA_TEXT:
            blamed = _blamed(brand, key, under[0])
            problem = (
                f"{key.replace('_', ' ')} {colour} on the {worst} {grounds[worst]} has a "
                f"contrast ratio of {measured:.2f}:1, below the {AA_TEXT}:1 WCAG AA asks of text"
            )
            value = brand.values.get(blamed, colour)
            found.append((brand.keys.get(blamed, f"branding.{blamed}"), problem, value))
    return found


def _blamed(brand: Brand, key: str, under: str) -> str:
    """The key to change: the one the event set (the colour itself, else what it sits on)."""
    if key in brand.values:
        return key
    return under if under in brand.values else key


def file_problems(brand: Brand) -> list[tuple[str, str, str]]:
    """(key, problem, value) for a logo or stylesheet that cannot be served as it is."""
    found = []
    for key, check in (("logo", logo_type), ("stylesheet", stylesheet_text)):
        path = brand.file(key)
        problem = _file_problem(path, check) if path else None
        if problem:
            found.append((brand.keys[key], problem, brand.values[key]))
    return found


def _file_problem(path: Path, check: Callable[[bytes], str]) -> str | None:
    try:
        check(path.read_bytes())
    except FileNotFoundError:
        return "file not found next to the configuration file"
    except (OSError, ValueError) as exc:
        return str(exc)
    return None


def logo_type(raw: bytes) -> str:
    """The content type of a logo file, or a ValueError saying why it is not one."""
    if len(raw) > LOGO_BYTES:
        raise ValueError(f"is {len(raw)} bytes, at most {LOGO_BYTES} for a logo")
    if b"<svg" in raw[:4096]:
        return _svg(raw)
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.verify()
            kind = image.format or ""
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError("is not an image (PNG, JPEG, WebP, GIF or SVG)") from exc
    if kind not in RASTER_TYPES:
        raise ValueError(f"is a {kind} image: use PNG, JPEG, WebP, GIF or SVG")
    return RASTER_TYPES[kind]


def _svg(raw: bytes) -> str:
    try:
        root = ElementTree.fromstring(raw)
    except ElementTree.ParseError as exc:
        raise ValueError(f"is not a well-formed SVG file ({exc})") from exc
    if not root.tag.endswith("svg"):
        raise ValueError("is not an SVG image (its root element is not <svg>)")
    return "image/svg+xml"


def stylesheet_text(raw: bytes) -> str:
    if len(raw) > STYLESHEET_BYTES:
        raise ValueError(f"is {len(raw)} bytes, at most {STYLESHEET_BYTES} for a stylesheet")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("is not UTF-8 text") from exc
