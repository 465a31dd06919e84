"""Speed and memory figures for livewall; `make bench` prints them (tests assert behaviour only)."""
