"""The event's configuration: one TOML file, validated at start into explicit settings.

Every key is declared here once, with its default and its help text; `docs/configuration.md`
is generated from these declarations and a test checks that it is up to date.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from collectors.base import url_name
from collectors.registry import SOURCE_TYPES

CONFIG_ENV = "LIVEWALL_CONFIG"
SESSION_KEY_ENV = "LIVEWALL_SECRET_KEY"


class ConfigError(Exception):
    """A configuration problem, worded for the person who edits the file."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        where = f"{path}: {key}" if key else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.key = key
        self.problem = problem


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventSettings(Section):
    name: str = Field(default="Événement", description="The event's name, shown on every page.")
    hashtags: tuple[str, ...] = Field(
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

    @field_validator("hashtags")
    @classmethod
    def _strip_hash(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(tag.lstrip("#") for tag in tags if tag.strip("# "))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r} (use an IANA name)") from exc
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
            raise ValueError(f"supported languages are 'fr' and 'en', got {list(langs)}")
        return langs


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
    host: str = Field(default="127.0.0.1", description="Address the web server listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port the web server listens on.")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="URL people use to reach the wall (QR codes, digest links).",
    )

    @field_validator("public_url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url.rstrip("/")


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


class ScreenSettings(Section):
    name: Annotated[str, AfterValidator(url_name)] = Field(
        description="Unique name; the screen is at /wall/{name} (lowercase letters, digits, - "
        "and _)."
    )
    layout: Literal["grid", "spotlight", "ticker"] = Field(
        default="grid", description="grid, spotlight or ticker."
    )
    title: str | None = Field(default=None, description="Title shown on the screen.")
    sources: tuple[str, ...] = Field(default=(), description="Only posts from these sources.")
    hashtags: tuple[str, ...] = Field(default=(), description="Only posts with these hashtags.")
    languages: tuple[str, ...] = Field(default=(), description="Only posts in these languages.")
    rotate_seconds: int = Field(
        default=12, ge=3, le=600, description="Seconds per post in the spotlight layout."
    )
    show_stream: bool = Field(default=False, description="Show the official live stream when live.")
    theme: Literal["dark", "light"] = Field(default="dark", description="dark or light.")
    lang: Literal["fr", "en"] | None = Field(
        default=None, description="Interface language of this screen (default: the event's first)."
    )
    embed_origins: tuple[str, ...] = Field(
        default=(), description="Origins allowed to embed this screen in a frame."
    )
    qr_url: str | None = Field(
        default=None,
        description="Address the QR code in the corner opens (default: this screen's public "
        "address, [server] public_url + /wall/{name}).",
    )


class DigestSettings(Section):
    send_at: time = Field(
        default=time(18, 0), description="Local time (HH:MM) the daily digest is published."
    )
    recipients: tuple[str, ...] = Field(
        default=(), description="Email addresses that get the digest's French edition."
    )
    recipients_en: tuple[str, ...] = Field(
        default=(),
        description="Email addresses that get the English edition (needs en in [event] "
        "languages); each edition is sent once a day on its own.",
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://host:port or smtps://host:port; login from LIVEWALL_SMTP_USER and "
        "LIVEWALL_SMTP_PASSWORD.",
    )
    sender: str = Field(default="livewall@localhost", description="From address of the digest.")
    catch_up_hours: float = Field(
        default=6, ge=0, le=48, description="A digest missed by at most this long is sent at start."
    )


class Settings(Section):
    event: EventSettings = Field(default_factory=EventSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    moderation: ModerationSettings = Field(default_factory=ModerationSettings)
    sources: tuple[Any, ...] = ()
    screens: tuple[ScreenSettings, ...] = ()
    digest: DigestSettings = Field(default_factory=DigestSettings)
    # Where the file was read from: word lists and relative paths resolve against it.
    config_dir: Path = Field(default=Path("."), exclude=True)

    def source(self, name: str) -> Any:
        found = next((s for s in self.sources if s.name == name), None)
        if found is None:
            known = ", ".join(s.name for s in self.sources) or "none"
            raise KeyError(f"unknown source {name!r} (known: {known})")
        return found

    def screen(self, name: str) -> ScreenSettings | None:
        return next((s for s in self.screens if s.name == name), None)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.event.timezone)


def _parse_sources(path: Path, raw: list[Any]) -> tuple[Any, ...]:
    if not isinstance(raw, list):
        raise ConfigError(path, "sources", "must be an array of tables ([[sources]])")
    parsed = []
    for index, item in enumerate(raw):
        key = f"sources[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(path, key, "must be a table")
        kind = item.get("type")
        if kind not in SOURCE_TYPES:
            known = ", ".join(sorted(SOURCE_TYPES))
            raise ConfigError(path, f"{key}.type", f"must be one of {known}, got {kind!r}")
        try:
            parsed.append(SOURCE_TYPES[kind].options.model_validate(item))
        except ValidationError as exc:
            raise _config_error(path, exc, prefix=key) from None
    return tuple(parsed)


def _config_error(path: Path, exc: ValidationError, prefix: str = "") -> ConfigError:
    first = exc.errors()[0]
    loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in first["loc"])
    loc = loc.replace(".[", "[")
    key = f"{prefix}.{loc}" if prefix and loc else prefix or loc
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key (check its spelling in docs/configuration.md)"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if "input" in first and first["type"] not in ("missing", "extra_forbidden"):
        message += f" (got {first['input']!r})"
    return ConfigError(path, key, message)


def load_settings(path: Path | str) -> Settings:
    """Read and validate one TOML file; raise ConfigError naming the file and the key."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "", "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, "", f"cannot be read: {exc}") from None
    return settings_from_mapping(raw, path)


def settings_from_mapping(raw: Mapping[str, Any], path: Path | str = "<config>") -> Settings:
    path = Path(path)
    data = dict(raw)
    sources = _parse_sources(path, data.pop("sources", []))
    try:
        settings = Settings.model_validate({**data, "config_dir": path.parent.resolve()})
    except ValidationError as exc:
        raise _config_error(path, exc) from None
    settings = settings.model_copy(update={"sources": sources})
    _check_unique_names(path, settings)
    _check_word_lists(path, settings)
    _check_digest_languages(path, settings)
    return settings


def _check_unique_names(path: Path, settings: Settings) -> None:
    """Sources and screens are addressed by name (URLs, --source): each name once."""
    for kind, items in (("sources", settings.sources), ("screens", settings.screens)):
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.name in seen:
                raise ConfigError(path, f"{kind}[{index}].name", f"{item.name!r} is used twice")
            seen.add(item.name)


def _check_word_lists(path: Path, settings: Settings) -> None:
    for lang, name in settings.moderation.blocked_words.items():
        if not (settings.config_dir / name).is_file():
            raise ConfigError(
                path, f"moderation.blocked_words.{lang}", f"file {name!r} not found next to it"
            )


def _check_digest_languages(path: Path, settings: Settings) -> None:
    # Addresses nobody would ever write to are a mistake to point out now, not on the evening.
    if settings.digest.recipients_en and "en" not in settings.event.languages:
        raise ConfigError(
            path,
            "digest.recipients_en",
            'is set but [event] languages has no "en": no English edition would be sent',
        )


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get(CONFIG_ENV) or "config/default.toml")
