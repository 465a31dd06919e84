"""Placeholder until the soak is written."""


def main(argv: list[str]) -> None:
    raise SystemExit("not yet")
