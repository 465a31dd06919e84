"""The digest email: one multipart message (text and HTML) sent over SMTP.

The message goes out in ONE SMTP transaction to every recipient (envelope only when there
are several, so members do not see each other's address): either the server accepted it
or it did not, which is what lets runs.py promise "exactly once".
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from aggregator.digest.render import Edition
from aggregator.models import utcnow

USER_ENV, PASSWORD_ENV = "LIVEWALL_SMTP_USER", "LIVEWALL_SMTP_PASSWORD"
SMTP_TIMEOUT = 60.0


class SendError(Exception):
    """The email did not go out. `uncertain`: the connection broke while the server was
    taking the message, so it may have been delivered; nobody should resend it blindly."""

    def __init__(self, message: str, uncertain: bool = False) -> None:
        super().__init__(message)
        self.uncertain = uncertain


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: tuple[str, ...]
    event_name: str
    page_url: str
    archive_url: str
    host: str


def build_message(edition: Edition, envelope: Envelope) -> EmailMessage:
    message = EmailMessage()
    sender = Address(display_name=envelope.event_name, addr_spec=envelope.sender)
    message["Subject"] = edition.subject
    message["From"] = sender
    # One recipient (often a mailing list) is named; several stay in the envelope only.
    message["To"] = envelope.recipients[0] if len(envelope.recipients) == 1 else sender
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = make_msgid("digest", domain=envelope.sender.rpartition("@")[2])
    message["List-Id"] = f"{envelope.event_name} <digest.{envelope.host}>"
    message["List-Archive"] = f"<{envelope.archive_url}>"
    message["List-Unsubscribe"] = f"<mailto:{envelope.sender}?subject=unsubscribe>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(edition.text)
    message.add_alternative(edition.email_html, subtype="html")
    # After the parts: set_content() clears every Content-* header set before it.
    message["Content-Language"] = "fr-CA" if edition.language == "fr" else "en-CA"
    return message


def credentials(env: Mapping[str, str]) -> tuple[str, str] | None:
    user = env.get(USER_ENV)
    return (user, env.get(PASSWORD_ENV, "")) if user else None


def connect(smtp_url: str, env: Mapping[str, str]) -> smtplib.SMTP:
    """An SMTP session ready to send: TLS (smtps://, or STARTTLS when offered) and login."""
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SendError(
            f"[digest] smtp_url must be smtp://host:port or smtps://host:port, got {smtp_url!r}"
        )
    context = ssl.create_default_context()
    try:
        if parts.scheme == "smtps":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                parts.hostname, parts.port or 465, timeout=SMTP_TIMEOUT, context=context
            )
        else:
            smtp = smtplib.SMTP(parts.hostname, parts.port or 587, timeout=SMTP_TIMEOUT)
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
        login = credentials(env)
        if login is not None:
            smtp.login(*login)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"cannot open an SMTP session with {parts.hostname}: {exc}") from None
    return smtp


def send(
    message: EmailMessage, envelope: Envelope, smtp_url: str, env: Mapping[str, str]
) -> list[str]:
    """Send once; return the recipients the server refused (the others got it)."""
    smtp = connect(smtp_url, env)
    try:
        refused = smtp.send_message(message, envelope.sender, list(envelope.recipients))
    except smtplib.SMTPResponseException as exc:
        # The server answered with a refusal: it did not take the message.
        raise SendError(
            f"the SMTP server refused the digest: {exc.smtp_code} {exc.smtp_error!r}"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendError(f"every recipient was refused: {', '.join(exc.recipients)}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"the connection broke while sending: {exc}", uncertain=True) from None
    finally:
        _quit(smtp)
    return sorted(refused)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def recipients_line(recipients: Sequence[str]) -> str:
    return ", ".join(recipients) if len(recipients) <= 3 else f"{len(recipients)} recipients"
