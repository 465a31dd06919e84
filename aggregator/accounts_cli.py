"""`livewall user add|list|disable|enable|password`: staff accounts from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from aggregator import accounts
from aggregator.livewall import Livewall


def add_commands(commands: Any, add: Any, usage_error: type[Exception]) -> None:
    """Register `user` and its subcommands on the main parser's subcommands."""
    user = add(commands, "user", "manage staff accounts (console logins)", _no_subcommand)
    subs = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    new = add(subs, "add", "create an account", _handler(cmd_add, usage_error))
    new.add_argument("name")
    new.add_argument("--role", choices=accounts.ROLES, default="moderator")
    new.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add(subs, "list", "list the accounts", _handler(cmd_list, usage_error))
    for name, help_text, handler in (
        ("disable", "disable an account (its sessions end)", cmd_disable),
        ("enable", "enable a disabled account", cmd_enable),
        ("password", "set a new password", cmd_password),
    ):
        sub = add(subs, name, help_text, _handler(handler, usage_error))
        sub.add_argument("name")
        if name == "password":
            sub.add_argument("--password-stdin", action="store_true")


def _no_subcommand(args: argparse.Namespace, app: Livewall) -> int:
    return 2


def _handler(handler: Any, usage_error: type[Exception]) -> Any:
    def run(args: argparse.Namespace, app: Livewall) -> int:
        app.store.check()
        app.store.migrate()
        try:
            return int(handler(args, app))
        except accounts.AccountError as exc:
            raise usage_error(str(exc)) from None

    return run


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise accounts.AccountError("the two passwords differ")
    return first


def cmd_add(args: argparse.Namespace, app: Livewall) -> int:
    password = read_password(args.password_stdin)
    accounts.add_user(app.store, args.name, args.role, password)
    print(f"user {args.name} added ({args.role})")
    return 0


def cmd_list(args: argparse.Namespace, app: Livewall) -> int:
    users = accounts.list_users(app.store)
    if not users:
        print("no accounts yet: `livewall user add NAME --role admin`")
    for user in users:
        state = "disabled" if user.disabled else "active"
        print(f"{user.name:<24} {user.role:<10} {state:<9} since {user.created_at:%Y-%m-%d}")
    return 0


def cmd_disable(args: argparse.Namespace, app: Livewall) -> int:
    accounts.set_disabled(app.store, args.name, True)
    print(f"user {args.name} disabled; their sessions are closed")
    return 0


def cmd_enable(args: argparse.Namespace, app: Livewall) -> int:
    accounts.set_disabled(app.store, args.name, False)
    print(f"user {args.name} enabled")
    return 0


def cmd_password(args: argparse.Namespace, app: Livewall) -> int:
    accounts.set_password(app.store, args.name, read_password(args.password_stdin))
    print(f"password of {args.name} changed; their other sessions are closed")
    return 0
