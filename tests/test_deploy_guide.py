"""docs/deploy.md and the files it installs (deploy/): the systemd units parse and run real
`livewall` commands, the proxies point at the port the web server listens on and pass the
screens' event streams unbuffered, and every command and link in the guide is real."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.recipes import REPO, command_problem, livewall_arguments
from wall.cli import build_commands
from wall.screens import PING_SECONDS

DEPLOY = REPO / "deploy"
GUIDE = REPO / "docs" / "deploy.md"
UNITS = ("livewall-serve.service", "livewall-worker.service")
INSTALLED = "/opt/livewall/.venv/bin/livewall"
# Commands the guide documents that the operations part of issue 12 adds; checked like the
# others as soon as the program has them.
COMING = {"backup", "prune"}


def unit(name: str) -> configparser.ConfigParser:
    # systemd allows a key more than once (Environment=): keep the last, read the rest below.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / name, encoding="utf-8")
    return parser


def unit_values(name: str, key: str) -> list[str]:
    text = (DEPLOY / name).read_text(encoding="utf-8")
    return re.findall(rf"^{key}=(.*)$", text, re.MULTILINE)


def serve_address() -> tuple[str, str]:
    arguments = shlex.split(unit("livewall-serve.service")["Service"]["ExecStart"])
    return arguments[arguments.index("--host") + 1], arguments[arguments.index("--port") + 1]


def guide_commands() -> list[list[str]]:
    """Each `livewall …` command in the guide's shell blocks, as the program's arguments."""
    text = GUIDE.read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            found += [livewall_arguments(words) for words in shell_commands(line)]
    return found


def shell_commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line that run livewall, through `sudo`, `sh -c '…'`,
    `;`, `&&` and variables set before the program."""
    line = re.sub(r"\$\([^)]*\)", "SUBSTITUTED", line)
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split, lexer.commenters = True, "#"
    segments: list[list[str]] = [[]]
    for word in lexer:
        if set(word) <= set(";&|"):
            segments.append([])
        else:
            segments[-1].append(word)
    found = []
    for words in segments:
        while words and (words[0] == "sudo" or re.fullmatch(r"[A-Z_]+=.*", words[0])):
            words = words[3:] if words[:2] == ["sudo", "-u"] else words[1:]
        if words[:2] == ["sh", "-c"]:
            found += shell_commands(words[2])
        elif words and Path(words[0]).name == "livewall":
            found.append(words)
    return found


# systemd ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", UNITS)
def test_unit_runs_real_livewall_commands(name: str) -> None:
    lines = unit_values(name, "ExecStart") + unit_values(name, "ExecStartPre")
    assert lines
    for line in lines:
        words = shlex.split(line)
        assert words[0] == INSTALLED, f"{name}: {line} (the guide installs to {INSTALLED})"
        assert command_problem(livewall_arguments(words)) is None


@pytest.mark.parametrize("name", UNITS)
def test_unit_reads_the_files_the_guide_creates(name: str) -> None:
    service = unit(name)["Service"]
    environment = dict(v.split("=", 1) for v in unit_values(name, "Environment"))
    guide = GUIDE.read_text(encoding="utf-8")
    for path in (service["EnvironmentFile"], environment["LIVEWALL_CONFIG"]):
        assert path in guide, f"{name} reads {path}, which the guide never creates"
    assert service["User"] == "livewall" and service["WorkingDirectory"] == "/var/lib/livewall"
    assert environment["LIVEWALL_MEDIA_DIR"].startswith(service["WorkingDirectory"])


def test_worker_starts_after_the_web_server_migrated() -> None:
    assert "livewall-serve.service" in unit("livewall-worker.service")["Unit"]["After"]
    migrations = unit_values("livewall-serve.service", "ExecStartPre")
    assert [livewall_arguments(shlex.split(line)) for line in migrations] == [["migrate"]]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("name", UNITS)
def test_systemd_accepts_the_unit(name: str, tmp_path: Path) -> None:
    """`systemd-analyze verify` with the program where this test environment has it (it
    checks the command exists); an unknown key or a bad value is printed, so any output fails."""
    program = str(Path(sys.executable).with_name("livewall"))
    text = (DEPLOY / name).read_text(encoding="utf-8").replace(INSTALLED, program)
    (tmp_path / name).write_text(text, encoding="utf-8")
    done = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


# Caddy and nginx ---------------------------------------------------------------------------


def test_caddy_proxies_to_the_web_server_unbuffered() -> None:
    text = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    active = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    host, port = serve_address()
    block = re.search(r"reverse_proxy (\S+) \{(.*?)\}", active, re.DOTALL)
    assert block is not None and block.group(1) == f"{host}:{port}"
    assert re.search(r"^\s*flush_interval -1$", block.group(2), re.MULTILINE)
    assert not re.search(r"^\s*encode\b", active, re.MULTILINE), "compression holds streams back"


def test_nginx_proxies_to_the_web_server_unbuffered_over_http11() -> None:
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    directives = {
        m.group(1): m.group(2).strip()
        for m in re.finditer(r"^\s*([a-z_]+)\s+([^;#\n]*);", text, re.MULTILINE)
    }
    host, port = serve_address()
    assert directives["server"] == f"{host}:{port}"
    assert directives["proxy_pass"] == "http://livewall"
    assert directives["proxy_http_version"] == "1.1"
    assert directives["proxy_buffering"] == "off"
    assert directives["proxy_cache"] == "off"
    assert 'proxy_set_header Connection ""' in text
    assert "proxy_set_header X-Forwarded-Proto $scheme" in text
    timeout = int(directives["proxy_read_timeout"].removesuffix("s"))
    assert timeout > 2 * PING_SECONDS, "a quiet stream would be cut between two pings"


def test_serve_listens_where_only_the_proxy_reaches_it() -> None:
    assert serve_address()[0] == "127.0.0.1"


# The guide --------------------------------------------------------------------------------


def test_every_livewall_command_in_the_guide_is_real() -> None:
    commands = guide_commands()
    assert {"migrate", "check-config", "sources", "backup"} <= {c[0] for c in commands}
    known = set(build_commands().helps)
    for arguments in commands:
        if arguments[0] in COMING - known:
            continue
        assert command_problem(arguments) is None


def test_every_file_the_guide_links_or_copies_exists() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    for link in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (GUIDE.parent / link).exists(), f"docs/deploy.md links to {link}"
    for path in re.findall(r"/opt/livewall/((?:deploy|config)/[\w.-]+)", text):
        assert (REPO / path).exists(), f"docs/deploy.md copies {path}"


def test_guide_gives_the_kiosk_flags_the_readme_gives() -> None:
    def flags(text: str) -> set[str]:
        start = text.index("chromium --kiosk")
        return set(
            re.findall(r"--[a-z-]+(?:=[\w,-]+)?", text[start : text.index("https://", start)])
        )

    assert flags(GUIDE.read_text(encoding="utf-8")) == flags(
        (REPO / "README.md").read_text(encoding="utf-8")
    )
