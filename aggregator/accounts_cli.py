"""`livewall user add|list|disable|enable|password`: staff accounts from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys

from aggregator import accounts
from aggregator.application import Livewall
from aggregator.commands import Commands, Handler, UsageError


def register(commands: Commands) -> None:
    """`user` and its actions."""
    user = commands.group("user", "manage staff accounts (console logins)")
    new = user.add("add", "create an account", _on_accounts(cmd_add_user))
    new.add_argument("name")
    new.add_argument("--role", choices=accounts.ROLES, default="moderator")
    new.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    user.add("list", "list the accounts", _on_accounts(cmd_list_users))
    for name, help_text, handler in (
        ("disable", "disable an account (its sessions end)", cmd_disable_user),
        ("enable", "enable a disabled account", cmd_enable_user),
        ("password", "set a new password", cmd_set_password),
    ):
        sub = user.add(name, help_text, _on_accounts(handler))
        sub.add_argument("name")
        if name == "password":
            sub.add_argument("--password-stdin", action="store_true")


def _on_accounts(handler: Handler) -> Handler:
    """The action on an up-to-date store; an account it cannot act on is a usage error."""

    def run(args: argparse.Namespace, app: Livewall) -> int:
        app.store.check()
        app.store.migrate()
        try:
            return int(handler(args, app))
        except accounts.AccountError as exc:
            raise UsageError(str(exc)) from None

    return run


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise accounts.AccountError("the two passwords differ")
    return first


def cmd_add_user(args: argparse.Namespace, app: Livewall) -> int:
    password = read_password(args.password_stdin)
    accounts.add_user(app.store, args.name, args.role, password, hashing=app.accounts.hashing)
    print(f"user {args.name} added ({args.role})")
    return 0


def cmd_list_users(args: argparse.Namespace, app: Livewall) -> int:
    users = accounts.list_users(app.store)
    if not users:
        print("no accounts yet: `livewall user add NAME --role admin`")
    for user in users:
        state = "disabled" if user.disabled else "active"
        print(f"{user.name:<24} {user.role:<10} {state:<9} since {user.created_at:%Y-%m-%d}")
    return 0


def cmd_disable_user(args: argparse.Namespace, app: Livewall) -> int:
    accounts.set_disabled(app.store, args.name, True)
    print(f"user {args.name} disabled; their sessions are closed")
    return 0


def cmd_enable_user(args: argparse.Namespace, app: Livewall) -> int:
    accounts.set_disabled(app.store, args.name, False)
    print(f"user {args.name} enabled")
    return 0


def cmd_set_password(args: argparse.Namespace, app: Livewall) -> int:
    password = read_password(args.password_stdin)
    accounts.set_password(app.store, args.name, password, hashing=app.accounts.hashing)
    print(f"password of {args.name} changed; their other sessions are closed")
    return 0
