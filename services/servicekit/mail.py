"""A small SMTP mailer (aiosmtplib): plain-text messages, one recipient each.

Settings come from `SMTP_*` environment variables. Neither addresses nor bodies are ever
logged: a failure is reported by its exception type and SMTP code only.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import structlog
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = structlog.get_logger("servicekit.mail")


class MailSettings(BaseSettings):
    """Where outgoing email goes; locally the dev stack's SMTP sink (`python -m devstack smtp`)."""

    model_config = SettingsConfigDict(
        env_prefix="SMTP_", extra="ignore", frozen=True, populate_by_name=True
    )

    host: str = Field(default="127.0.0.1", description="SMTP_HOST")
    port: int = Field(default=8025, ge=1, le=65535, description="SMTP_PORT")
    sender: str = Field(
        default="privacy@esim.example",
        alias="SMTP_FROM",
        description="SMTP_FROM: the From address.",
    )
    starttls: bool = Field(default=False, description="SMTP_STARTTLS: upgrade with STARTTLS.")
    username: str | None = Field(default=None, description="SMTP_USERNAME")
    password: SecretStr | None = Field(default=None, description="SMTP_PASSWORD")
    timeout_seconds: float = Field(default=10.0, gt=0, description="SMTP_TIMEOUT_SECONDS")


class MailError(Exception):
    """Sending failed; the message says why without naming the recipient."""


@dataclass(frozen=True)
class Mail:
    """One plain-text email to one recipient."""

    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class Mailer:
    """Sends emails over SMTP with the given settings."""

    settings: MailSettings

    def message(self, mail: Mail) -> EmailMessage:
        """The MIME message of a mail."""
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        return message

    async def send(self, mail: Mail) -> None:
        """Send one mail; MailError (no address in it) when the server refuses or is away."""
        settings = self.settings
        try:
            await aiosmtplib.send(
                self.message(mail),
                hostname=settings.host,
                port=settings.port,
                start_tls=settings.starttls,
                username=settings.username,
                password=settings.password.get_secret_value() if settings.password else None,
                timeout=settings.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as failure:
            code = getattr(failure, "code", None)
            log.warning("mail_not_sent", error=type(failure).__name__, smtp_code=code)
            raise MailError(
                f"mail not sent: {type(failure).__name__} {code or ''}".strip()
            ) from None
