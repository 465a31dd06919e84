"""The event's configuration: one TOML file, validated at start into explicit settings.

Every key is declared here once, with its default and its help text; `docs/configuration.md`
is generated from these declarations and a test checks that it is up to date.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from aggregator.branding import Brand, BrandKeys, brand_of, contrast_problems, file_problems
from aggregator.config_problems import ConfigError, ConfigProblem, Problems
from aggregator.config_values import (
    EmailAddress,
    Host,
    LanguageCode,
    Network,
    Origin,
    SmtpUrl,
    listening_url,
)
from collectors.base import url_name
from collectors.http import BaseUrl, Hashtags, HttpUrl
from collectors.registry import SOURCE_TYPES

__all__ = ["ConfigError", "ConfigProblem", "Settings", "check_file", "load_settings"]

CONFIG_ENV = "LIVEWALL_CONFIG"
SESSION_KEY_ENV = "LIVEWALL_SECRET_KEY"
# How a screen lays its posts out.
Layout = Literal["grid", "spotlight", "ticker"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventSettings(Section):
    name: str = Field(default="Événement", description="The event's name, shown on every page.")
    hashtags: Hashtags = Field(
        default=(),
        description="Hashtags of the event, without '#'; sources follow them by default.",
    )
    timezone: str = Field(
        default="America/Toronto", description="IANA time zone of the event (days, digest time)."
    )
    languages: tuple[str, ...] = Field(
        default=("fr", "en"),
        description="Languages of the interface and the digest, first is default.",
    )
    program: str | None = Field(
        default=None, description="iCalendar file or URL of the event's program (digest sessions)."
    )
    start: datetime | None = Field(
        default=None,
        description="When the event starts (2026-11-25T08:00, in the event's time zone unless "
        "an offset is given). A source's first run reads back to it when it is further back "
        "than the source's lookback_hours.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                "unknown time zone (use an IANA name such as America/Toronto)"
            ) from exc
        return name

    @field_validator("start", mode="before")
    @classmethod
    def _a_day_or_a_moment(cls, value: Any) -> Any:
        if not isinstance(value, str | date | None):
            raise ValueError("must be a date or a date and time, such as 2026-11-25T08:00")
        if isinstance(value, date) and not isinstance(value, datetime):
            return datetime.combine(value, time())
        return value

    @property
    def start_utc(self) -> datetime | None:
        """`start` as an instant; without an offset it is the event's local time."""
        start = self.start
        if start is not None and start.tzinfo is None:
            start = start.replace(tzinfo=ZoneInfo(self.timezone))
        return start.astimezone(UTC) if start else None

    @field_validator("languages")
    @classmethod
    def _supported(cls, langs: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [lang for lang in langs if lang not in ("fr", "en")]
        if unknown or not langs:
            raise ValueError("supported languages are 'fr' and 'en'")
        return langs

    @field_validator("program")
    @classmethod
    def _program_location(cls, location: str | None) -> str | None:
        # Anything with a scheme but http(s) would be read as a file name, and never found.
        scheme = urlsplit(location or "").scheme
        if len(scheme) > 1 and scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL, or a file path")
        return location


class StorageSettings(Section):
    url: str = Field(
        default="sqlite:///./livewall.db",
        description="Database URL: sqlite:///path or postgresql+psycopg://user@host/db.",
    )

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return url.replace("postgresql://", "postgresql+psycopg://", 1)


class ServerSettings(Section):
    host: Host = Field(default="127.0.0.1", description="Address the web server listens on.")
    port: int = Field(
        default=8000, ge=1, le=65535, strict=True, description="Port the web server listens on."
    )
    public_url: BaseUrl = Field(
        default="",
        description="URL people use to reach the wall (links, QR codes, the Atom feed, digest "
        "emails); set it behind a proxy (https://mur.example.org). Unset: http://host:port "
        "as the server listens (`--host`/`--port` included; host 0.0.0.0: this machine's name).",
    )

    @model_validator(mode="after")
    def _public_url_from_listening(self) -> ServerSettings:
        # Left unset in model_fields_set, so a command line's --host/--port can move it too.
        if not self.public_url:
            object.__setattr__(self, "public_url", listening_url(self.host, self.port))
        return self

    @property
    def public_url_set(self) -> bool:
        """Whether the file gives the public address (else it follows the listening one)."""
        return "public_url" in self.model_fields_set

    def listening_on(self, host: str, port: int) -> ServerSettings:
        """These settings for a server started on `host`:`port` (from the command line)."""
        public = self.public_url if self.public_url_set else listening_url(host, port)
        moved = self.model_copy(update={"host": host, "port": port, "public_url": public})
        moved.__pydantic_fields_set__ = set(self.model_fields_set)
        return moved


class ModerationSettings(Section):
    mode: Literal["pre", "post"] = Field(
        default="pre",
        description="pre: nothing reaches a screen until approved (except official sources and "
        "trusted authors); post: approved unless a rule rejects or holds it.",
    )
    trusted_authors: tuple[str, ...] = Field(
        default=(), description="Handles whose posts are approved at once."
    )
    banned_authors: tuple[str, ...] = Field(
        default=(), description="Handles whose posts are rejected at once."
    )
    blocked_words: dict[str, str] = Field(
        default_factory=dict,
        description="Per language, a word-list file (one entry a line, relative to the config "
        "file); a post containing one is held for a moderator.",
    )


class ScreenSettings(BrandKeys):
    name: Annotated[str, AfterValidator(url_name)] = Field(
        description="Unique name; the screen is at /wall/{name} (lowercase letters, digits, - "
        "and _)."
    )
    layout: Layout = Field(default="grid", description="grid, spotlight or ticker.")
    title: str | None = Field(default=None, description="Title shown on the screen.")
    sources: tuple[str, ...] = Field(default=(), description="Only posts from these sources.")
    hashtags: Hashtags = Field(default=(), description="Only posts with these hashtags.")
    languages: tuple[LanguageCode, ...] = Field(
        default=(), description="Only posts in these languages (codes such as fr, en)."
    )
    rotate_seconds: int = Field(
        default=12,
        ge=3,
        le=600,
        strict=True,
        description="Seconds per post in the spotlight layout.",
    )
    show_stream: bool = Field(
        default=False, strict=True, description="Show the official live stream when live."
    )
    theme: Literal["dark", "light"] = Field(default="dark", description="dark or light.")
    lang: Literal["fr", "en"] | None = Field(
        default=None, description="Interface language of this screen (default: the event's first)."
    )
    embed_origins: tuple[Origin, ...] = Field(
        default=(),
        description="Origins allowed to embed this screen in a frame (https://host[:port]).",
    )
    qr_url: HttpUrl | None = Field(
        default=None,
        description="Address the QR code in the corner opens (default: this screen's public "
        "address, [server] public_url + /wall/{name}).",
    )


class DigestSettings(Section):
    send_at: time = Field(
        default=time(18, 0), description="Local time (HH:MM) the daily digest is published."
    )
    recipients: tuple[EmailAddress, ...] = Field(
        default=(), description="Email addresses that get the digest's French edition."
    )
    recipients_en: tuple[EmailAddress, ...] = Field(
        default=(),
        description="Email addresses that get the English edition (needs en in [event] "
        "languages); each edition is sent once a day on its own.",
    )
    smtp_url: SmtpUrl | None = Field(
        default=None,
        description="smtp://host:port or smtps://host:port; login from LIVEWALL_SMTP_USER and "
        "LIVEWALL_SMTP_PASSWORD.",
    )
    sender: EmailAddress = Field(
        default="livewall@localhost", description="From address of the digest."
    )
    catch_up_hours: float = Field(
        default=6,
        ge=0,
        le=48,
        strict=True,
        description="A digest missed by at most this long is sent at start.",
    )


class MetricsSettings(Section):
    allow: tuple[Network, ...] = Field(
        default=("127.0.0.1/32", "::1/128"),
        description="Networks allowed to read /metrics without a token (CIDR, such as "
        "10.0.0.0/8); others need the bearer token named by token_env.",
    )
    token_env: str = Field(
        default="LIVEWALL_METRICS_TOKEN",
        description="Environment variable holding a bearer token that opens /metrics from "
        "anywhere (unset: only the allowed networks).",
    )


class LoggingSettings(Section):
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="debug, info, warning or error (-v on the command: debug)."
    )
    format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line per event; json: one JSON object per line "
        "(for a log collector).",
    )


class ConsoleSettings(Section):
    notify_after: int = Field(
        default=120,
        ge=10,
        le=86400,
        strict=True,
        description="Seconds a post may wait for a decision before the console sends its "
        "moderators a browser notification (each moderator may choose another delay).",
    )
    password_hashing: Literal["standard", "cheapest"] = Field(
        default="standard",
        description="Argon2 cost of the staff's passwords: standard (RFC 9106's low-memory "
        "profile, 64 MiB a check) or cheapest (argon2's own, for test suites only: a copy of "
        "the database would give the passwords away). A password is hashed again with the "
        "current cost at its next login.",
    )


class Settings(Section):
    event: EventSettings = Field(default_factory=EventSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    sources: tuple[Any, ...] = ()
    screens: tuple[ScreenSettings, ...] = ()
    digest: DigestSettings = Field(default_factory=DigestSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    branding: BrandKeys = Field(default_factory=BrandKeys)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    # Where the file was read from: word lists and relative paths resolve against it.
    config_dir: Path = Field(default=Path("."), exclude=True)

    def listening_on(self, host: str, port: int) -> Settings:
        """The settings of a server started on `host`:`port`: the public address follows
        unless the file sets it."""
        return self.model_copy(update={"server": self.server.listening_on(host, port)})

    def source(self, name: str) -> Any:
        found = next((s for s in self.sources if s.name == name), None)
        if found is None:
            known = ", ".join(s.name for s in self.sources) or "none"
            raise KeyError(f"unknown source {name!r} (known: {known})")
        return found

    def screen(self, name: str) -> ScreenSettings | None:
        return next((s for s in self.screens if s.name == name), None)

    def brand(self, screen: ScreenSettings | None = None) -> Brand:
        """A screen's look (its own keys over [branding]); without one, [branding]'s own."""
        index = self.screens.index(screen) if screen in self.screens else None
        theme = screen.theme if screen else "dark"
        return brand_of(self.branding, screen, theme, self.config_dir, index)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.event.timezone)


@dataclass(frozen=True)
class CheckedConfig:
    """All of a file's problems, errors first, and what could be read of it."""

    # The settings as far as they could be read: wrong sections hold their defaults and
    # wrong sources are left out. None when the file itself could not be read.
    draft: Settings | None
    problems: tuple[ConfigProblem, ...]

    @property
    def settings(self) -> Settings | None:
        """The settings, if the file has no error."""
        return None if self.errors else self.draft

    @property
    def errors(self) -> tuple[ConfigProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[ConfigProblem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")


def load_settings(path: Path | str) -> Settings:
    """Read and validate one TOML file; raise ConfigError listing every error in it."""
    return _settings_or_raise(check_file(path))


def settings_from_mapping(raw: Mapping[str, Any], path: Path | str = "<config>") -> Settings:
    return _settings_or_raise(check_mapping(raw, path))


def _settings_or_raise(checked: CheckedConfig) -> Settings:
    if checked.settings is None:
        raise ConfigError(checked.errors)
    return checked.settings


def check_file(path: Path | str) -> CheckedConfig:
    """Every problem of one TOML file; reads it and its word lists, writes nothing."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problem = "file not found"
    except tomllib.TOMLDecodeError as exc:
        problem = f"not valid TOML: {exc}"
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot be read: {exc}"
    else:
        return check_mapping(raw, path)
    return CheckedConfig(None, (ConfigProblem(str(path), "", problem),))


def check_mapping(raw: Mapping[str, Any], path: Path | str = "<config>") -> CheckedConfig:
    path = Path(path)
    problems = Problems(str(path))
    data = dict(raw)
    raw_sources = data.pop("sources", [])
    sources = _parse_sources(problems, raw_sources)
    settings, failed = _validate_sections(problems, data, path)
    settings = settings.model_copy(update={"sources": sources})
    # Checks across keys and files, each on sections that are right in themselves.
    _check_unique_names(problems, {"sources": raw_sources, "screens": data.get("screens")})
    if "moderation" not in failed:
        _check_word_lists(problems, settings)
    if "event" not in failed:
        _check_program(problems, settings)
    if not failed & {"event", "digest"}:
        _check_digest_languages(problems, settings)
    if "digest" not in failed:
        _check_mailing(problems, settings.digest)
    if "console" not in failed and settings.console.password_hashing == "cheapest":
        problems.warning(
            "console.password_hashing",
            "argon2's cheapest parameters are for test suites: a copy of the database would "
            "give the passwords away",
            "cheapest",
        )
    _check_screen_sources(problems, data.get("screens"), _names(raw_sources))
    if not failed & {"branding", "screens"}:
        _check_branding(problems, settings)
    return CheckedConfig(settings, problems.in_order())


def _parse_sources(problems: Problems, raw: object) -> tuple[Any, ...]:
    if not isinstance(raw, list):
        problems.error("sources", "must be an array of tables ([[sources]])", raw)
        return ()
    parsed = []
    known = ", ".join(sorted(SOURCE_TYPES))
    for index, item in enumerate(raw):
        key = f"sources[{index}]"
        if not isinstance(item, dict):
            problems.error(key, "must be a table", item)
        elif "type" not in item:
            problems.error(f"{key}.type", f"Field required (one of {known})")
        elif item["type"] not in SOURCE_TYPES:
            problems.error(f"{key}.type", f"must be one of {known}", item["type"])
        else:
            try:
                parsed.append(SOURCE_TYPES[item["type"]].options.model_validate(item))
            except ValidationError as exc:
                problems.validation(exc, prefix=key)
    return tuple(parsed)


def _validate_sections(
    problems: Problems, data: dict[str, Any], path: Path
) -> tuple[Settings, set[str]]:
    """The settings, and the top-level keys that were wrong (their defaults stand in)."""
    where = {"config_dir": path.parent.resolve()}
    try:
        return Settings.model_validate({**data, **where}), set()
    except ValidationError as exc:
        problems.validation(exc)
        failed = {str(error["loc"][0]) for error in exc.errors() if error["loc"]}
    kept = {key: value for key, value in data.items() if key not in failed}
    return Settings.model_validate({**kept, **where}), failed


def _names(items: object) -> list[object]:
    if not isinstance(items, list):
        return []
    return [item.get("name") if isinstance(item, dict) else None for item in items]


def _check_unique_names(problems: Problems, lists: Mapping[str, object]) -> None:
    """Sources and screens are addressed by name (URLs, --source): each name once."""
    for kind, items in lists.items():
        names = _names(items)
        for index, name in enumerate(names):
            if isinstance(name, str) and index > (first := names.index(name)):
                problems.error(f"{kind}[{index}].name", f"is already {kind}[{first}]'s name", name)


def _check_word_lists(problems: Problems, settings: Settings) -> None:
    for lang, name in settings.moderation.blocked_words.items():
        key = f"moderation.blocked_words.{lang}"
        try:
            (settings.config_dir / name).read_text(encoding="utf-8")
        except FileNotFoundError:
            problems.error(key, "file not found next to the configuration file", name)
        except (OSError, UnicodeDecodeError) as exc:
            problems.error(key, f"cannot be read as UTF-8 text: {exc}", name)


def _check_program(problems: Problems, settings: Settings) -> None:
    location = settings.event.program
    if location is None or location.startswith(("http://", "https://")):
        return
    if not (settings.config_dir / location).is_file():
        problems.warning(
            "event.program",
            "file not found next to the configuration file: the digest has no sessions",
            location,
        )


def _check_digest_languages(problems: Problems, settings: Settings) -> None:
    # Addresses nobody would ever write to are a mistake to point out now, not on the evening.
    if settings.digest.recipients_en and "en" not in settings.event.languages:
        problems.error(
            "digest.recipients_en",
            'is set but [event] languages has no "en": no English edition would be sent',
            list(settings.digest.recipients_en),
        )


def _check_mailing(problems: Problems, digest: DigestSettings) -> None:
    if (digest.recipients or digest.recipients_en) and not digest.smtp_url:
        problems.warning(
            "digest.smtp_url", "is not set: the digest has recipients but is never emailed"
        )


def _check_screen_sources(problems: Problems, screens: object, sources: list[object]) -> None:
    """A screen showing a source that does not exist would stay empty without saying why."""
    known = ", ".join(str(name) for name in sources if isinstance(name, str)) or "none"
    for index, screen in enumerate(screens if isinstance(screens, list) else []):
        wanted = screen.get("sources") if isinstance(screen, dict) else None
        for position, name in enumerate(wanted if isinstance(wanted, list) else []):
            if isinstance(name, str) and name not in sources:
                problems.error(
                    f"screens[{index}].sources[{position}]",
                    f"is not the name of a source (known: {known})",
                    name,
                )


def _check_branding(problems: Problems, settings: Settings) -> None:
    """Each screen's look as it will be drawn: colours that read, files that can be served.

    A problem of [branding] itself is said once, not once per screen that inherits it."""
    general = settings.brand()
    screens = [settings.brand(screen) for screen in settings.screens]
    found_all = [*file_problems(general), *(p for b in screens for p in file_problems(b))]
    found_all += [p for b in screens or [general] for p in contrast_problems(b)]
    said: set[tuple[str, str, str]] = set()
    for found in found_all:
        if found not in said:
            said.add(found)
            problems.error(*found)


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(CONFIG_ENV) or "config/default.toml")
