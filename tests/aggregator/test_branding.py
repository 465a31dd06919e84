"""The event's look as the settings read it: colours measured as WCAG 2.x does, files checked."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from aggregator.branding import THEMES, palette
from aggregator.contrast import hex_colour, luminance, mix, ratio
from aggregator.settings import ConfigError, check_file, load_settings
from tests.aggregator.test_settings import REPO, error_of, write


def test_luminance_and_ratio_are_wcags() -> None:
    assert luminance("#000") == 0 and luminance("#ffffff") == pytest.approx(1)
    assert ratio("#000000", "#ffffff") == pytest.approx(21)
    # WebAIM's contrast checker gives 4.54:1 for #767676 on white, the lightest grey at AA.
    assert ratio("#767676", "#fff") == pytest.approx(4.54, abs=0.01)
    assert ratio("#777777", "#fff") < 4.5 < ratio("#767676", "#fff")
    assert mix("#000000", "#ffffff", 0.5) == "#808080"


@pytest.mark.parametrize("written", ["#1D4F91", "1d4f91", "#1d4f91 "])
def test_colours_are_written_as_hex_and_normalised(written: str) -> None:
    assert hex_colour(written) == "#1d4f91"
    assert hex_colour("#abc") == "#aabbcc"


def test_a_colour_that_is_not_hex_names_its_key(tmp_path: Path) -> None:
    text = error_of(tmp_path, '[branding]\naccent = "blue"\n')
    assert "branding.accent" in text and "hex colour" in text


@pytest.mark.parametrize(
    ("written", "said"),
    [
        # Text too pale on its background, with the ratio measured.
        ('background = "#777777"\ntext = "#999999"', "branding.text: text #999999 on the"),
        # An accent (the hashtag, links) that does not read on the background.
        ('background = "#ffffff"\naccent = "#3fd0ff"', "branding.accent: accent #3fd0ff on the"),
        # Text on the accent (the ticker's label).
        (
            'accent = "#0057b8"\naccent_text = "#1d4f91"',
            "branding.accent_text: accent text #1d4f91 on the accent #0057b8",
        ),
    ],
)
def test_colours_below_aa_are_refused_with_their_ratio(
    tmp_path: Path, written: str, said: str
) -> None:
    text = error_of(tmp_path, f"[branding]\n{written}\n")
    assert f"event.toml: {said}" in text
    assert re.search(r"has a contrast ratio of \d\.\d\d:1, below the 4\.5:1 WCAG AA", text)


def test_a_screen_own_colours_are_checked_under_its_own_key(tmp_path: Path) -> None:
    text = error_of(
        tmp_path,
        '[[screens]]\nname = "a"\n\n[[screens]]\nname = "b"\nbackground = "#808080"\n'
        'text = "#a0a0a0"\n',
    )
    assert "screens[1].text" in text and "screens[0]" not in text


def test_a_general_problem_is_said_once_whatever_the_number_of_screens(tmp_path: Path) -> None:
    screens = "".join(f'[[screens]]\nname = "s{i}"\n' for i in range(3))
    text = error_of(tmp_path, f'[branding]\naccent = "#1a1a1a"\n{screens}')
    assert text.count("branding.accent") == 1


def test_the_themes_own_colours_need_no_check(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, '[[screens]]\nname = "a"\ntheme = "light"\n'))
    assert settings.brand(settings.screens[0]).palette == THEMES["light"]


def test_the_derived_colours_reach_aa_too() -> None:
    for background in ("#0b2545", "#f3f6fa", "#6d28d9", "#ffc845"):
        p = palette({"background": background, "accent": "#0b2545"}, THEMES["dark"])
        assert ratio(p.text, p.card) >= 4.5 and ratio(p.muted, p.card) >= 4.5


def test_a_screen_key_overrides_the_general_one(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            '[branding]\naccent = "#4fc3f7"\nbackground = "#0b2545"\nfont = "open-sans"\n'
            '[[screens]]\nname = "a"\n[[screens]]\nname = "b"\naccent = "#ffc845"\n',
        )
    )
    first, second = (settings.brand(s) for s in settings.screens)
    assert first.palette.accent == "#4fc3f7" and second.palette.accent == "#ffc845"
    assert second.palette.background == "#0b2545" and second.values["font"] == "open-sans"
    assert second.keys["accent"] == "screens[1].accent"


def test_an_unknown_font_lists_the_bundled_ones(tmp_path: Path) -> None:
    text = error_of(tmp_path, '[branding]\nfont = "comic-sans"\n')
    assert "branding.font" in text and "open-sans" in text and "source-serif-4" in text


def test_a_missing_logo_or_stylesheet_is_an_error(tmp_path: Path) -> None:
    text = error_of(tmp_path, '[branding]\nlogo = "logo.png"\nstylesheet = "look.css"\n')
    assert "branding.logo: file not found next to the configuration file" in text
    assert "branding.stylesheet: file not found" in text


def test_a_logo_that_is_not_an_image_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "logo.png").write_text("not an image", encoding="utf-8")
    (tmp_path / "mark.svg").write_text("<svg><g></svg>", encoding="utf-8")
    text = error_of(
        tmp_path,
        '[branding]\nlogo = "logo.png"\n[[screens]]\nname = "a"\nlogo = "mark.svg"\n',
    )
    assert "branding.logo: is not an image (PNG, JPEG, WebP, GIF or SVG)" in text
    assert "screens[0].logo: is not a well-formed SVG file" in text


def test_a_stylesheet_must_be_utf8_text(tmp_path: Path) -> None:
    (tmp_path / "look.css").write_bytes(b"\xff\xfe body {}")
    assert "branding.stylesheet: is not UTF-8 text" in error_of(
        tmp_path, '[branding]\nstylesheet = "look.css"\n'
    )


def test_an_image_logo_and_a_stylesheet_are_accepted(tmp_path: Path) -> None:
    image = io.BytesIO()
    Image.new("RGB", (40, 20), "#1d5fa8").save(image, "PNG")
    (tmp_path / "logo.png").write_bytes(image.getvalue())
    (tmp_path / "look.css").write_text(".wall { outline: 0; }", encoding="utf-8")
    path = write(tmp_path, '[branding]\nlogo = "logo.png"\nstylesheet = "look.css"\n')
    assert check_file(path).problems == ()


def test_the_assises_colours_reach_aa() -> None:
    settings = load_settings(REPO / "config" / "assises-umq.toml")
    for screen in settings.screens:
        p = settings.brand(screen).palette
        assert p.background == "#0b2545"
        assert min(ratio(p.text, p.card), ratio(p.accent, p.card)) >= 4.5


def test_every_problem_is_a_config_error_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings(write(tmp_path, '[branding]\nlogo = "."\n'))
