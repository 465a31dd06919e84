"""`livewall digest`: build a day's digest by hand, look at it, or send it again on purpose."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from aggregator.application import Livewall
from aggregator.commands import Commands, UsageError, prepare_store
from aggregator.digest.runs import DigestRuns


def day_argument(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: use YYYY-MM-DD") from None


def register(commands: Commands) -> None:
    digest = commands.add("digest", "build the daily digest; publish and email it", cmd_digest)
    digest.add_argument(
        "--date", type=day_argument, metavar="YYYY-MM-DD", help="the day (default: today)"
    )
    digest.add_argument(
        "--dry-run", action="store_true", help="write the email's HTML and text; publish nothing"
    )
    digest.add_argument(
        "--force", action="store_true", help="send again, even if already sent or interrupted"
    )
    digest.add_argument(
        "--output", type=Path, help="with --dry-run: HTML to FILE, text to FILE with .txt"
    )
    digest.add_argument(
        "--lang",
        choices=("fr", "en"),
        help="only this edition: the one --dry-run writes (default fr), or the one to send",
    )


def cmd_digest(args: argparse.Namespace, app: Livewall) -> int:
    if args.output and not args.dry_run:
        raise UsageError("--output goes with --dry-run (a published digest is at /digest/)")
    prepare_store(app, out=sys.stderr)
    runs = app.digest
    day = args.date or runs.today()
    if args.dry_run:
        return dry_run(runs, day, args.lang or "fr", args.output)
    if args.lang and args.lang not in runs.languages:
        raise UsageError(
            f"--lang {args.lang}: the event's languages are {', '.join(runs.languages)}"
        )
    report = runs.run(day, force=args.force, languages=[args.lang] if args.lang else None)
    print(f"digest {day}: {report.outcome}: {report.message}")
    return 0 if report.ok else 1


def dry_run(runs: DigestRuns, day: date, language: str, output: Path | None) -> int:
    if language not in runs.languages:
        raise UsageError(
            f"--lang {language}: the event's languages are {', '.join(runs.languages)}"
        )
    content = runs.content(day)
    edition = runs.edition(content, language)
    if output is None:
        sys.stdout.write(f"{edition.email_html}\n\n{'-' * 72}\n\n{edition.text}")
        return 0
    text_path = output.with_suffix(".txt")
    output.write_text(edition.email_html, encoding="utf-8")
    text_path.write_text(edition.text, encoding="utf-8")
    print(
        f"digest {day} ({language}): {content.numbers.posts} posts; "
        f"wrote {output} and {text_path}; nothing published or sent",
        file=sys.stderr,
    )
    return 0
