"""Administrators' pages: live rules, screens, sources and accounts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from aggregator.accounts import ROLES, AccountError, Staff
from aggregator.moderation import live_rules
from aggregator.screens import LAYOUTS
from aggregator.sources import IDLE_STATES
from wall.bodies import read_form
from wall.console.auth import Handler
from wall.console.common import Console
from wall.console.forms import FORM_ERRORS, done, field, notice, whole


class AdminViews:
    def __init__(self, console: Console) -> None:
        self.console = console
        self._runs: set[asyncio.Task[Any]] = set()

    def routes(self) -> list[Route]:
        def admin(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
            return self.console.guard.require(handler, admin=True)

        return [
            Route("/console/rules", admin(self.rules)),
            Route("/console/rules", admin(self.change_rules), methods=["POST"]),
            Route("/console/screens", admin(self.screens)),
            Route("/console/screens", admin(self.command_screen), methods=["POST"]),
            Route("/console/sources", admin(self.sources)),
            Route("/console/sources", admin(self.command_source), methods=["POST"]),
            Route("/console/users", admin(self.users)),
            Route("/console/users", admin(self.change_users), methods=["POST"]),
        ]

    async def _act(
        self,
        request: Request,
        staff: Staff,
        path: str,
        show: Callable[..., Awaitable[Response]],
        action: Callable[[FormData], Awaitable[str]],
    ) -> Response:
        """Run a form's action; on a known error show the page again with it (400)."""
        form = await read_form(request)
        try:
            code = await action(form)
        except FORM_ERRORS as exc:
            message = exc.args[0] if exc.args else str(exc)
            return await show(request, staff, error=str(message), status=400)
        return done(path, code)

    # Rules

    async def rules(
        self, request: Request, staff: Staff, error: str | None = None, status: int = 200
    ) -> Response:
        rule_set = await self.console.run(self.console.app.live_rules.rule_set)
        return self.console.page(
            request, staff, "console/rules.html", status=status, error=error,
            notice=notice(request, self.console.gettext(request)), rules=rule_set,
            languages=self.console.app.settings.event.languages,
            source_names=[s.name for s in self.console.app.settings.sources],
        )  # fmt: skip

    async def change_rules(self, request: Request, staff: Staff) -> Response:
        store, run = self.console.store, self.console.run

        async def action(form: Any) -> str:
            op = field(form, "op")
            if op == "mode":
                await run(live_rules.set_mode, store, field(form, "mode"), staff.name)
            elif op == "flood":
                accounts_, minutes = whole(form, "accounts"), whole(form, "minutes")
                await run(live_rules.set_flood, store, accounts_, minutes, staff.name)
            elif op == "ban":
                await run(live_rules.ban, store, field(form, "value"), staff.name)
                return "banned"
            elif op == "add":
                await run(
                    live_rules.add_entry, store, field(form, "kind"), field(form, "value"),
                    staff.name, field(form, "language"),
                )  # fmt: skip
            elif op == "remove":
                await run(live_rules.remove_entry, store, whole(form, "id"), staff.name)
                return "removed"
            else:
                raise ValueError(f"unknown operation {op!r}")
            return "saved"

        return await self._act(request, staff, "/console/rules", self.rules, action)

    # Screens

    async def screens(
        self, request: Request, staff: Staff, error: str | None = None, status: int = 200
    ) -> Response:
        found = await self.console.run(self.console.app.screens.statuses)
        return self.console.page(
            request, staff, "console/screens.html", status=status, error=error,
            notice=notice(request, self.console.gettext(request)),
            screens=[s for s in found if s.settings is not None], layouts=LAYOUTS,
        )  # fmt: skip

    async def command_screen(self, request: Request, staff: Staff) -> Response:
        screens = self.console.app.screens

        async def action(form: Any) -> str:
            name, layout = field(form, "screen"), field(form, "layout")
            if field(form, "op") == "reload":
                await self.console.run(screens.reload, name, staff.name)
                return "reload"
            await self.console.run(screens.set_layout, name, layout, staff.name)
            return "layout"

        return await self._act(request, staff, "/console/screens", self.screens, action)

    # Sources

    def _sources(self) -> dict[str, Any]:
        sources = self.console.app.sources
        return {"sources": sources.health(), "today": sources.collected_today()}

    async def sources(
        self, request: Request, staff: Staff, error: str | None = None, status: int = 200
    ) -> Response:
        found = await self.console.run(self._sources)
        return self.console.page(
            request, staff, "console/sources.html", status=status, error=error,
            notice=notice(request, self.console.gettext(request)), idle=IDLE_STATES, **found,
        )  # fmt: skip

    async def command_source(self, request: Request, staff: Staff) -> Response:
        app = self.console.app

        async def action(form: Any) -> str:
            name, op = field(form, "source"), field(form, "op")
            app.settings.source(name)  # unknown: KeyError, shown on the page
            if op in ("pause", "resume"):
                await self.console.run(app.sources.pause, name, op == "pause", staff.name)
                return "paused" if op == "pause" else "resumed"
            if op == "run":
                # In the background: a slow network must not hold the moderator's page.
                task = asyncio.create_task(app.harvest.run_source(name))
                self._runs.add(task)
                task.add_done_callback(self._runs.discard)
                await self.console.run(app.sources.note_run, name, staff.name)
                return "running"
            raise ValueError(f"unknown operation {op!r}")

        return await self._act(request, staff, "/console/sources", self.sources, action)

    # Accounts

    async def users(
        self,
        request: Request,
        staff: Staff,
        error: str | None = None,
        status: int = 200,
        secret: str | None = None,
    ) -> Response:
        users = await self.console.run(self.console.app.accounts.users)
        tokens = await self.console.run(self.console.app.accounts.tokens)
        return self.console.page(
            request, staff, "console/users.html", status=status, error=error,
            notice=notice(request, self.console.gettext(request)), users=users, tokens=tokens,
            secret=secret, roles=ROLES,
        )  # fmt: skip

    async def change_users(self, request: Request, staff: Staff) -> Response:
        accounts, run = self.console.app.accounts, self.console.run
        form = await read_form(request)
        op, name = field(form, "op"), field(form, "name")
        try:
            if op == "token":
                secret = await run(accounts.create_token, name, field(form, "role"), staff.name)
                return await self.users(request, staff, secret=secret)
            if op == "add":
                await run(accounts.add_user, name, field(form, "role"),
                          field(form, "password"), staff.name)  # fmt: skip
            elif op in ("disable", "enable"):
                if name == staff.name and op == "disable":
                    raise AccountError("you cannot disable your own account")
                await run(accounts.set_disabled, name, op == "disable", staff.name)
            elif op == "password":
                await run(accounts.set_password, name, field(form, "password"), staff.name)
            elif op == "revoke":
                await run(accounts.revoke_token, whole(form, "id"), staff.name)
            else:
                raise ValueError(f"unknown operation {op!r}")
        except FORM_ERRORS as exc:
            return await self.users(request, staff, error=str(exc.args[0]), status=400)
        return done("/console/users", "user")
