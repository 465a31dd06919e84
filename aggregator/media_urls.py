"""Addresses in the wall's media cache: a remote image URL signed into a path on the wall's
own origin (`/media/r/{token}.{signature}`), and checked back.

This is the pure half of wall/media.py (which fetches and serves), kept here so that the
web process that serves the images and the worker that emails the digest sign alike:
aggregator may not import wall. Both get their key from `MediaUrls.for_store` with the same
store URL and environment:

- with LIVEWALL_SECRET_KEY set, the key is derived from it (HMAC with a fixed label), so
  processes on different hosts agree; changing that secret breaks the images of emails
  already sent;
- otherwise a random key is generated once into `.key` in the media cache folder
  (LIVEWALL_MEDIA_DIR, else beside the SQLite file, else ./data/media-cache), which every
  process of one installation finds at the same place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aggregator.settings import SESSION_KEY_ENV
from collectors.demo import DEMO_MEDIA_SCHEME

MEDIA_DIR_ENV = "LIVEWALL_MEDIA_DIR"
KEY_FILE = ".key"
# A different purpose from the console's sessions: a media signature must never be a valid
# session signature, so the secret is not used as the key itself.
KEY_LABEL = b"livewall media-cache URLs v1"
SIGNATURE_BYTES = 12


# Media shown by their still image, on the wall and in the digest: a video file is no image.
PREVIEWED = ("video", "gifv", "link")


def shown_image(item: Mapping[str, Any]) -> str | None:
    """The picture a card shows for one of a post's media items (None: none, e.g. audio)."""
    kind = item.get("type")
    if kind == "audio":
        return None
    return (item.get("preview_url") if kind in PREVIEWED else item.get("url")) or None


def demo_path(url: str | None) -> str | None:
    """The wall-origin path of a bundled demo image (None for anything else)."""
    if url and url.startswith(DEMO_MEDIA_SCHEME):
        return f"/media/demo/{url.removeprefix(DEMO_MEDIA_SCHEME)}"
    return None


def default_directory(store_url: str, env: Mapping[str, str]) -> Path:
    """The cache folder: LIVEWALL_MEDIA_DIR, else beside the SQLite file, else ./data."""
    if env.get(MEDIA_DIR_ENV):
        return Path(env[MEDIA_DIR_ENV])
    if store_url.startswith("sqlite:///") and not store_url.endswith(":memory:"):
        return Path(store_url.removeprefix("sqlite:///")).resolve().parent / "media-cache"
    return Path("data/media-cache")


def derived_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), KEY_LABEL, hashlib.sha256).digest()


def load_key(directory: Path, env: Mapping[str, str]) -> bytes:
    """The signing key: from LIVEWALL_SECRET_KEY, else the folder's `.key` (made once)."""
    secret = env.get(SESSION_KEY_ENV)
    if secret:
        return derived_key(secret)
    path = directory / KEY_FILE
    if not path.exists():
        _create_key_file(path)
    return bytes.fromhex(path.read_text().strip())


def _create_key_file(path: Path) -> None:
    # Written aside then linked: when the web process and the worker start together, the
    # first link wins and the other reads it, instead of each overwriting the other's key.
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    partial.write_text(secrets.token_hex(32))
    try:
        os.link(partial, path)
    except FileExistsError:
        pass
    finally:
        partial.unlink()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class MediaUrls:
    """Signs image URLs into media-cache paths and checks them back.

    The key is read on first use: a day with only demo images needs none.
    """

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        self._key = key if isinstance(key, bytes) else None
        self._load = key if callable(key) else None

    @classmethod
    def for_store(cls, store_url: str, env: Mapping[str, str]) -> MediaUrls:
        return cls(lambda: load_key(default_directory(store_url, env), env))

    @classmethod
    def in_directory(cls, directory: Path, env: Mapping[str, str]) -> MediaUrls:
        return cls(lambda: load_key(directory, env))

    @property
    def key(self) -> bytes:
        if self._key is None:
            assert self._load is not None
            self._key = self._load()
        return self._key

    def signature(self, token: str) -> str:
        return _b64(hmac.new(self.key, token.encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES])

    def path(self, remote: str | None, size: str = "card") -> str | None:
        """The wall-origin path of an image or avatar (None: nothing the wall can show)."""
        if not remote:
            return None
        if remote.startswith(DEMO_MEDIA_SCHEME):
            return demo_path(remote)
        if urlsplit(remote).scheme not in ("http", "https"):
            return None
        token = _b64(remote.encode())
        suffix = "" if size == "card" else f"?s={size}"
        return f"/media/r/{token}.{self.signature(token)}{suffix}"

    def remote(self, signed: str) -> str | None:
        """The remote URL behind `{token}.{signature}`; None for anything not signed here."""
        token, _, signature = signed.partition(".")
        if not signature or not hmac.compare_digest(signature, self.signature(token)):
            return None
        try:
            return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
