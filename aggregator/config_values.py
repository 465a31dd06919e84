"""The shapes of values a configuration file holds: addresses, origins, mail servers, hosts.

Each check takes the value as written and returns it (normalised) or raises ValueError with
what is wrong, so pydantic reports it under the key it came from.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from pydantic import AfterValidator

# An address as SMTP servers take it without SMTPUTF8: an ASCII dot-atom, '@', a host name.
EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9-]{1,63})*\.?")
# The same shape wall/security.py accepts in frame-ancestors: a ';' must never add a directive.
ORIGIN_HOST = re.compile(r"[A-Za-z0-9.-]+")
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


def email_address(value: str) -> str:
    address = value.strip()
    if not EMAIL.fullmatch(address):
        raise ValueError("is not an email address (name@domain, without a display name)")
    return address


def origin(value: str) -> str:
    """scheme://host[:port], which is what a browser compares when a page is framed."""
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 -- raises ValueError on a port that is not one
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or not ORIGIN_HOST.fullmatch(parts.hostname)
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError("is not an origin: https://host or https://host:port, with no path")
    return f"{parts.scheme}://{parts.netloc}"


def smtp_url(value: str) -> str:
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 -- raises ValueError on a port that is not one
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("must be smtp://host:port or smtps://host:port")
    if parts.username is not None:
        # A password in the file would be committed with it: logins come from the environment.
        raise ValueError(
            "must not hold a login: set LIVEWALL_SMTP_USER and LIVEWALL_SMTP_PASSWORD instead"
        )
    return value.strip()


def host(value: str) -> str:
    """An address to listen on: an IP address or a host name, not a URL."""
    name = value.strip()
    try:
        ipaddress.ip_address(name)
    except ValueError:
        if not HOST_NAME.fullmatch(name):
            raise ValueError(
                "must be an IP address or a host name, such as 127.0.0.1 or 0.0.0.0 "
                "(no scheme, no port: the port is [server] port)"
            ) from None
    return name


def listening_url(host: str, port: int) -> str:
    """The address people reach a server at from where it listens: a wildcard address
    (0.0.0.0, ::) is every interface, so the machine's own name stands for it."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    if ":" in host:  # an IPv6 address goes in brackets in a URL
        host = f"[{host}]"
    return f"http://{host}:{port}"


def language_code(value: str) -> str:
    if not LANGUAGE_CODE.fullmatch(value):
        raise ValueError("is not a language code (two or three lowercase letters, such as fr)")
    return value


def network(value: str) -> str:
    """An address or a network of them (CIDR), such as 127.0.0.1/32 or 10.0.0.0/8."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError(
            "is not an IP network: an address or address/prefix, such as 10.0.0.0/8 or ::1/128"
        ) from None


def hide_password(url: str) -> str:
    """A URL fit to print: its password, if it holds one, replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


EmailAddress = Annotated[str, AfterValidator(email_address)]
Origin = Annotated[str, AfterValidator(origin)]
SmtpUrl = Annotated[str, AfterValidator(smtp_url)]
Host = Annotated[str, AfterValidator(host)]
LanguageCode = Annotated[str, AfterValidator(language_code)]
Network = Annotated[str, AfterValidator(network)]
