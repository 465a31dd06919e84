"""The operators' commands: `livewall backup FILE` and `livewall prune --older-than DAYS`."""

from __future__ import annotations

import argparse
from pathlib import Path

from aggregator.application import Livewall
from aggregator.backup import BackupError, backup, what_else_to_copy
from aggregator.commands import Commands, UsageError, prepare_store
from aggregator.media_urls import default_directory
from aggregator.retention import prune


def register(commands: Commands) -> None:
    """Backing the store up, and keeping it from growing forever."""
    saved = commands.add(
        "backup", "copy the store consistently while it runs; say what else to copy", cmd_backup
    )
    saved.add_argument("file", type=Path, metavar="FILE", help="the copy to write (a new file)")
    pruning = commands.add(
        "prune", "remove old posts, tombstones past their use and cached media", cmd_prune
    )
    pruning.add_argument(
        "--older-than",
        type=float,
        required=True,
        metavar="DAYS",
        help="what was created (posts) or cached (media) more than DAYS days ago",
    )
    pruning.add_argument("--dry-run", action="store_true", help="only count what would be removed")


def cmd_backup(args: argparse.Namespace, app: Livewall) -> int:
    app.store.check()
    try:
        report = backup(app.store, args.file)
    except BackupError as exc:
        raise UsageError(str(exc)) from None
    posts = f", {report.posts} posts" if report.posts is not None else ""
    print(f"store copied to {report.target} ({report.size / 1e6:.1f} MB{posts})")
    print("also copy, for a restore:")
    for line in what_else_to_copy(app.store, app.env):
        print(f"  {line}")
    return 0


def cmd_prune(args: argparse.Namespace, app: Livewall) -> int:
    if not args.older_than > 0:
        raise UsageError(f"--older-than: must be a number of days above 0 (got {args.older_than})")
    prepare_store(app)
    media = default_directory(app.store.url, app.env)
    report = prune(app.store, app.settings, media, args.older_than, dry_run=args.dry_run)
    for line in report.lines(args.dry_run):
        print(line)
    return 0
