"""`python -m bench`: print livewall's speed and memory figures."""

from __future__ import annotations

import logging

from bench import change_delay, fanout, ingest


def main() -> None:
    logging.disable(logging.WARNING)
    print("livewall bench — figures, not assertions")
    ingest.main()
    fanout.main()
    change_delay.main()


if __name__ == "__main__":
    main()
