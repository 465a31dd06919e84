"""`python -m bench [ingest|fanout|soak] [options]`: print livewall's speed and memory figures.

With no name, the short version of every bench (`make bench`, under three minutes).
"""

from __future__ import annotations

import logging
import sys

from bench import change_delay, fanout, ingest, soak


def main(argv: list[str]) -> None:
    logging.disable(logging.WARNING)
    print("livewall bench — figures, not assertions")
    name, rest = (argv[0], argv[1:]) if argv else ("", [])
    if name in ("", "ingest"):
        ingest.main()
    if name in ("", "fanout"):
        fanout.main(rest)
    if name in ("", "change-delay"):
        change_delay.main()
    if name == "soak":
        soak.main(rest)
    if name not in ("", "ingest", "fanout", "change-delay", "soak"):
        sys.exit(f"no bench named {name!r}: ingest, fanout, change-delay or soak")


if __name__ == "__main__":
    main(sys.argv[1:])
