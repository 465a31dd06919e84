"""The peak memory of a block of a test, from Linux's own accounting of this process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STATUS = Path("/proc/self/status")


def status_mib(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise AssertionError(f"no {field} in {STATUS}")


class Peak:
    def __init__(self) -> None:
        self.start = status_mib("VmRSS")
        self.grown = 0


@contextmanager
def peak_growth() -> Iterator[Peak]:
    """How far the resident memory rose above its level at the start of the block, in MiB.

    Writing 5 to clear_refs resets the process's peak (VmHWM) to its current size, so the
    peak read after the block is the block's own, whatever earlier tests used.
    """
    Path("/proc/self/clear_refs").write_text("5")
    peak = Peak()
    yield peak
    peak.grown = status_mib("VmHWM") - peak.start
