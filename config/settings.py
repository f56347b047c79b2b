"""Miz's settings: one pydantic-settings class, read from ``MIZ_*`` environment variables and ``.env``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import time
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PROJECT_ROOT", "Settings"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout's root: the built-in catalog, locales and the default ``var/`` folder are found from here."""


class Settings(BaseSettings):
    """Every knob of Miz. Tokens are ``SecretStr`` so they never appear in logs or reprs."""

    model_config = SettingsConfigDict(env_prefix="MIZ_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{PROJECT_ROOT / 'var' / 'miz.sqlite3'}",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    )
    catalog_dir: Path = Field(
        default=PROJECT_ROOT / "catalog" / "data", description="Folder of the service catalog YAML"
    )
    files_dir: Path = Field(default=PROJECT_ROOT / "var" / "files", description="Document store folder")
    retention_months: int = Field(
        default=0,
        ge=0,
        description="Documents of requests closed more than this many months ago are removed by `miz retention` "
        "(the requests and their history stay); 0 keeps every document",
    )
    cache_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "cache",
        description="Where Miz keeps what it can rebuild, to start faster (the parsed catalog)",
    )
    telegram_token: SecretStr | None = Field(default=None, description="Telegram bot token (secret)")
    telegram_api_base: str = Field(
        default="https://api.telegram.org", description="Telegram Bot API base URL"
    )
    bale_token: SecretStr | None = Field(default=None, description="Bale bot token (secret)")
    bale_api_base: str = Field(default="https://tapi.bale.ai", description="Bale Bot API base URL")
    bale_provider_token: SecretStr | None = Field(
        default=None,
        description="Bale wallet provider token (secret); when set, Bale citizens also get an in-chat invoice "
        "for a request's payment",
    )
    telegram_username: str | None = Field(
        default=None,
        description="The Telegram bot's username (without @), for links on the public site and posters",
    )
    bale_username: str | None = Field(
        default=None,
        description="The Bale bot's username (without @), for links on the public site and posters",
    )
    trusted_proxies: str = Field(
        default="127.0.0.1,::1",
        description="Addresses or networks (comma-separated) of the reverse proxies in front of Miz's web pages, "
        "whose X-Forwarded-For names the client: the web tracking page limits guesses per client address",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis URL for FSM state and the guessing limits; unset means the database and memory",
    )
    webhook_url: str | None = Field(
        default=None,
        description="The public HTTPS address the messengers post updates to under `miz serve`, e.g. "
        "https://miz.example.ir (each bot's secret path is added to it); `miz run` polls and needs none",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Key of the webhooks' secret paths and Telegram's secret header (secret); unset means derived "
        "from each bot's token. Every `miz serve` worker of one deployment must have the same",
    )
    serve_host: str = Field(
        default="127.0.0.1",
        description="Address `miz serve` listens on (behind the reverse proxy; 0.0.0.0 inside a container)",
    )
    serve_port: int = Field(default=8080, ge=1, le=65535, description="Port `miz serve` listens on")
    serve_reuse_port: bool = Field(
        default=False,
        description="Let several `miz serve` processes of one machine listen on the same port (SO_REUSEPORT: the "
        "kernel spreads the connections among them), instead of one port each behind the reverse proxy",
    )
    health_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port on 127.0.0.1 where `miz run` answers /healthz, /readyz and /metrics; unset means none "
        "(`miz serve` answers them on its own port)",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="text: one readable line per event; json: one JSON object per line"
    )
    locale: str = Field(default="fa", description="Default language of citizens' messages: fa or en")
    digest_time: time = Field(
        default=time(7, 30),
        description="When operator groups get the morning digest of due and overdue requests",
    )
    weekly_reports: bool = Field(
        default=True,
        description="Whether every operator group gets last week's report on the week's first working day (last "
        "month's comes on the month's first working day either way)",
    )
    escalate_after_days: int = Field(
        default=3, description="Requests overdue by more than this many days are escalated to the governorate"
    )
    inquiry_escalate_after_days: int = Field(
        default=5,
        ge=0,
        description="Inquiries to another agency overdue by more than this many days are escalated to the "
        "governorate",
    )
    answer_window_hours: float = Field(
        default=72,
        gt=0,
        description="For how long after the organization last wrote to a citizen about a request whatever they "
        "write (no command or menu button) answers it; a request that needs information waits for its answer always",
    )
    max_document_bytes: int = Field(
        default=20 * 1024 * 1024,
        description="Largest document a citizen may send (bots download 20 MB at most)",
    )
    flood_burst: int = Field(
        default=20,
        ge=1,
        description="Messages and button presses one person may send at once (then one a second); past it they "
        "are told to slow down once and go unanswered for flood_quiet_seconds",
    )
    flood_quiet_seconds: float = Field(
        default=60, gt=0, description="How long a person who flooded the bot goes unanswered"
    )
    sms_provider: Literal["none", "kavenegar", "smsir"] = Field(
        default="none",
        description="SMS gateway for stage notifications and one-time codes; none sends no SMS",
    )
    sms_api_base: str | None = Field(
        default=None,
        description="SMS gateway base URL; unset means the provider's own (https://api.kavenegar.com, https://api.sms.ir)",
    )
    sms_api_key: SecretStr | None = Field(default=None, description="SMS gateway API key (secret)")
    sms_sender: str | None = Field(
        default=None,
        description="Sender line: Kavenegar's sender (optional) or SMS.ir's line number (required)",
    )
    sms_verify_template: str = Field(
        default="miz-verify",
        description="One-time code template: Kavenegar's template name or SMS.ir's numeric template id",
    )
    sms_timeout_seconds: float = Field(
        default=10, gt=0, description="Longest wait for the SMS gateway's answer before trying again later"
    )
    sms_codes_per_org_hour: int = Field(
        default=60,
        ge=1,
        description="Most one-time SMS codes one organization pays for in an hour, from all its citizens together; "
        "past it, codes wait for the hour's oldest to age out (against SMS bombing at its cost)",
    )
    sms_code_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Key of the HMAC under which one-time SMS codes are stored (secret); unset means derived "
        "from the bot tokens, or a fixed development key when there is none",
    )

    @model_validator(mode="after")
    def _derive_sms_code_secret(self) -> Self:
        # Never empty: a deployment that forgot it still gets a key nobody knows without the bot tokens.
        if not self.sms_code_secret.get_secret_value():
            tokens = [t.get_secret_value() for t in (self.telegram_token, self.bale_token) if t is not None]
            material = "\n".join(t for t in tokens if t) or "miz-development-only"
            derived = hmac.new(b"miz-sms-code-secret", material.encode(), hashlib.sha256).hexdigest()
            self.sms_code_secret = SecretStr(derived)
        return self
