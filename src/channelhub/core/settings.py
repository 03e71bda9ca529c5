"""Configuration read from ``CHANNELHUB_*`` environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime settings; every field can be set as ``CHANNELHUB_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="CHANNELHUB_", extra="ignore")

    database_url: str = "sqlite:///channelhub.db"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    import_batch_size: int = 2000
    sqlite_busy_timeout_ms: int = 30_000
    #: Key material for credentials at rest (connections' secrets); required to store them.
    secret_key: str | None = None
    #: Sync engine: attempts before a job is dead, and the backoff between them (seconds).
    sync_max_attempts: int = 12
    sync_backoff_base: float = 0.5
    sync_backoff_cap: float = 30.0
    #: How long a claimed job stays with its worker before another may take it (seconds).
    sync_lease_seconds: float = 30.0
    #: How long an asynchronous confirmation may take before the job is dead (seconds).
    sync_pending_timeout: float = 900.0
    #: Test mode: every job is sent to its platform twice in a row, as after a timeout whose
    #: request did land; the second answer counts. Every effect must come out as one delivery's.
    sync_deliver_twice: bool = False
    #: Request bodies (bytes) over these are refused with 413 before they are read:
    #: the API in general, platform webhooks, and file imports (catalog, prices, stock CSV).
    max_body_bytes: int = 10_000_000
    max_webhook_bytes: int = 1_000_000
    max_import_bytes: int = 200_000_000
    #: ``GET /metrics`` needs an API key with the read scope unless this is true (for a
    #: scraper on a private network that cannot send a bearer token).
    metrics_public: bool = False
    #: Mark the admin's session cookie ``Secure`` (sent over HTTPS only): set it when the hub
    #: is served over HTTPS, directly or behind a proxy that terminates TLS.
    admin_secure_cookies: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
