"""`livewall digest` from the command line, on a real store file."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.digest.runs import DigestRuns
from aggregator.settings import Settings
from aggregator.store import Store
from tests.aggregator.digest.day import DAY, FORBIDDEN, seed_day
from tests.conftest import SettingsFactory
from wall.cli import main


def config_file(tmp_path: Path, settings: Settings) -> Path:
    path = tmp_path / "digest.toml"
    path.write_text(
        f'[event]\nname = "Assises CLI"\n[storage]\nurl = "{settings.storage.url}"\n'
        '[server]\npublic_url = "https://mur.example.org"\n',
        encoding="utf-8",
    )
    return path


def test_dry_run_writes_html_and_text_and_publishes_nothing(
    store: Store, make_settings: SettingsFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_day(store)
    config = config_file(tmp_path, make_settings())
    out = tmp_path / "digest.html"
    assert (
        main(
            [
                "--config",
                str(config),
                "digest",
                "--date",
                "2026-11-25",
                "--dry-run",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    html, text = out.read_text(), out.with_suffix(".txt").read_text()
    assert "La journée en cinq minutes" in html and "== La journée en chiffres ==" in text
    assert "Ouverture officielle des Assises" in text and not [
        f for f in FORBIDDEN if f in html + text
    ]
    assert "nothing published or sent" in capsys.readouterr().err
    assert DigestRuns(make_settings(), store, {}).record(DAY) is None


def test_dry_run_in_english_to_standard_output(
    store: Store, make_settings: SettingsFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_day(store)
    config = config_file(tmp_path, make_settings())
    assert (
        main(
            ["--config", str(config), "digest", "--date", "2026-11-25", "--dry-run", "--lang", "en"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "The day in five minutes" in out and "<html" in out and "== Highlights ==" in out


def test_publishing_by_hand(
    store: Store, make_settings: SettingsFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_day(store)
    config = config_file(tmp_path, make_settings())
    assert main(["--config", str(config), "digest", "--date", "2026-11-25"]) == 0
    assert "published at https://mur.example.org/digest/2026-11-25" in capsys.readouterr().out
    assert DigestRuns(make_settings(), store, {}).record(DAY) is not None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--date", "2026-13-01"], "'2026-13-01' is not a date: use YYYY-MM-DD"),
        (["--date", "hier"], "'hier' is not a date"),
        (["--output", "x.html"], "--output goes with --dry-run"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(
    store: Store,
    make_settings: SettingsFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    config = config_file(tmp_path, make_settings())
    try:
        status = main(["--config", str(config), "digest", *args])
    except SystemExit as exit_:  # argparse's own errors
        status = int(exit_.code or 0)
    err = capsys.readouterr().err
    assert status == 2 and message in err and "Traceback" not in err
