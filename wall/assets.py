"""Static files under content-hash URLs, so screens may cache them forever and still update."""

from __future__ import annotations

import hashlib
from functools import cached_property
from importlib import resources
from pathlib import Path

STATIC_DIR = Path(str(resources.files("wall") / "static"))


class Assets:
    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory

    @cached_property
    def hashes(self) -> dict[str, str]:
        return {
            str(path.relative_to(self.directory)): hashlib.sha256(path.read_bytes()).hexdigest()[
                :12
            ]
            for path in sorted(self.directory.rglob("*"))
            if path.is_file()
        }

    def url(self, name: str) -> str:
        """`/static/wall.css?v=<hash>`; an unknown name fails loudly at render time."""
        return f"/static/{name}?v={self.hashes[name]}"

    @cached_property
    def version(self) -> str:
        """Changes with any static file: screens reload when it differs from theirs."""
        joined = "".join(f"{n}{h}" for n, h in sorted(self.hashes.items()))
        return hashlib.sha256(joined.encode()).hexdigest()[:12]
