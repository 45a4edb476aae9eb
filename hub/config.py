"""The hub's one settings object.

Read the environment (prefix ``HUB_``) once, at the entry point, with :func:`load_settings`,
and pass the frozen object down. Nothing under ``hub/`` reads ``os.environ`` itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LogFormat = Literal["auto", "json", "console"]
KafkaProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    """Everything a hub process needs to know about its environment."""

    model_config = SettingsConfigDict(env_prefix="HUB_", frozen=True, extra="forbid")

    # Broker
    broker_url: str = Field(
        default="kafka://127.0.0.1:9092",
        description="faust-style broker URL; several brokers are separated by ';'.",
    )
    topic_prefix: str = Field(default="vru", pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    partitions: int = Field(default=4, ge=1, description="partitions of feed and stream topics")
    replication_factor: int = Field(default=1, ge=1)
    transit_retention_days: int = Field(
        default=30,
        ge=1,
        description="how long feed and outbox topics keep records (docs/topics.md)",
    )

    # Broker security (docs/deploy.md), turned into every client's options by
    # hub.transport.kafka_endpoint. Secrets come from a file (*_FILE, preferred) or the
    # environment, never from the command line, and are SecretStr: never logged or repr'd.
    kafka_security_protocol: KafkaProtocol = "PLAINTEXT"
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="CA bundle (PEM) to verify the brokers; default: the system's"
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="client certificate (PEM, with its chain) for mutual TLS"
    )
    kafka_ssl_keyfile: Path | None = Field(default=None, description="its private key (PEM)")
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_key_password_file: Path | None = None
    kafka_ssl_check_hostname: bool = True
    kafka_sasl_mechanism: SaslMechanism | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_sasl_password_file: Path | None = None

    # Where things live
    deploy_dir: Path = Path("deploy")
    schemas_dir: Path = Path("schemas")
    keys_dir: Path = Path(".hub/keys")
    state_dir: Path = Path(".hub/state")
    data_dir: Path = Field(
        default=Path("../shared/data"),
        description="real public data: police/*.csv and geo/*.csv (see README for sources)",
    )

    # faust timings. The embedded broker holds a group join for half the session
    # timeout (BROKER.md), so 6 s (the smallest Kafka accepts) gives a ~5 s start.
    app_id: str = "vru-hub"
    session_timeout_s: float = Field(default=6.0, ge=6.0)
    heartbeat_interval_s: float = Field(default=1.0, gt=0)
    table_store: str = Field(default="memory://", description="memory:// or rocksdb://")
    # The embedded broker answers a fetch only when its wait runs out, even when records arrive
    # meanwhile (docs/benchmarks-history.md); faust's fixed 1.5 s wait then costs up to 1.5 s
    # per hop.
    fetch_max_wait_ms: int = Field(
        default=100, ge=1, le=1500, description="the worker consumer's fetch wait"
    )
    producer_linger_ms: int = Field(
        default=0, ge=0, description="the worker producer's linger (0: send as soon as possible)"
    )
    tick_interval_s: float = Field(
        default=30.0, gt=0, description="how often time advances in the stream (flag expiry)"
    )
    alert_heartbeat_s: float = Field(
        default=15.0, gt=0, description="how often each partnership stream gets a heartbeat"
    )
    head_interval_s: float = Field(
        default=10.0, gt=0, description="how often the ledger agent publishes a signed tree head"
    )
    metrics_port: int = Field(
        default=0, ge=0, le=65535, description="Prometheus /metrics port of the worker; 0 is off"
    )
    metrics_host: str = "127.0.0.1"
    web_enabled: bool = False
    web_port: int = Field(default=6066, ge=1, le=65535)

    # The worker process (docs/operations.md, "Garbage collection" and "Remembered states")
    gc_young_threshold: int = Field(
        default=50_000,
        ge=1,
        description="allocations between young garbage collections (CPython's default: 700)",
    )
    state_capacity: int = Field(
        default=16_384,
        ge=0,
        description="decoded subject states the correlator remembers by their bytes",
    )

    # Logging
    log_format: LogFormat = "auto"
    log_level: str = "INFO"

    def feed_topic(self, agency_id: str) -> str:
        """The topic an agency publishes its events to."""
        return f"{self.topic_prefix}.feed.{agency_id}"

    def alert_topic(self, partnership_id: str) -> str:
        """The topic a partnership consumes its alerts from."""
        return f"{self.topic_prefix}.alerts.{partnership_id}"

    @property
    def quarantine_topic(self) -> str:
        """Where every rejected input goes, with its reason."""
        return f"{self.topic_prefix}.quarantine"

    def changelog_topic(self, table: str) -> str:
        """faust's changelog topic for one of the worker's tables."""
        return f"{self.app_id}-{table}-changelog"

    @property
    def assignor_topic(self) -> str:
        """faust's partition-assignor leader topic."""
        return f"{self.app_id}-__assignor-__leader"

    @property
    def agreements_topic(self) -> str:
        """Agreement versions as published (one partition: a total order)."""
        return f"{self.topic_prefix}.agreements"

    @property
    def outbox_topic(self) -> str:
        """Alerts awaiting their sequence number, keyed by partnership."""
        return f"{self.topic_prefix}.outbox"

    @property
    def decisions_topic(self) -> str:
        """Every disclosure decision, permit and deny, for the audit ledger."""
        return f"{self.topic_prefix}.audit.decisions"

    @property
    def heads_topic(self) -> str:
        """Signed tree heads over the decisions ledger (one partition: one chain)."""
        return f"{self.topic_prefix}.audit.heads"

    @property
    def accepted_topic(self) -> str:
        """Accepted events, keyed by subject, for correlation."""
        return f"{self.topic_prefix}.accepted"


EMBEDDED_FETCH_MAX_WAIT_MS = 20
"""The worker's fetch wait on the embedded broker (``hub.broker``; the demo and the benchmark).

That broker answers a fetch only when its wait has run out, even when records arrive
meanwhile, so each of the worker's three consumer hops (feed, accepted, outbox) waits up to
the whole wait: at the default 100 ms, the sum alone reaches about 260 ms for one alert in a
hundred. Apache Kafka answers as soon as records arrive, so there the wait only bounds idle
polling and the default stays (docs/deploy.md, docs/benchmarks-history.md)."""


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; explicit overrides win over ``HUB_*`` variables."""
    return Settings(**overrides)  # type: ignore[arg-type]  # overrides are validated by pydantic


def settings_env(settings: Settings) -> dict[str, str]:
    """``HUB_*`` variables that rebuild ``settings`` in a child process.

    Unset (None) settings are left out. A secret given in the environment is passed on in the
    environment (never on a command line); one given as a file is passed on as the file's path.
    """
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            text = value.get_secret_value()
        else:
            text = str(value).lower() if isinstance(value, bool) else str(value)
        env[f"HUB_{name.upper()}"] = text
    return env
