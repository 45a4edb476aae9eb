"""The faust application factory. No module-level app: every app is built from settings."""

from __future__ import annotations

from typing import Any

import faust
import structlog

from agents.consent import ConsentFeeds, register_consent_feeds
from agents.correlate import register_correlate
from agents.ingest import register_ingest
from agents.ledger import register_ledger
from agents.policy import register_policy
from agents.sequence import register_sequencer
from agents.transport import HubApp, broker_credentials
from hub.config import Settings
from hub.consent.watch import WithdrawalWatch, consent_feeds
from hub.crypto import Keyring
from hub.crypto.custody import party_secrets
from hub.disclosure import remember_states
from hub.gcpolicy import log_slow_collections, settle
from hub.ingest import Ingest, IngestContext
from hub.log import third_party_logging_config
from hub.policy import PolicyClock
from hub.runtime import load_correlator, load_ingest_context, load_worker_keys
from hub.transport import kafka_endpoint
from hub.transport.lenient import tolerate_unreadable_batches

SLOW_COLLECTIONS_FLUSH_S = 5.0
"""How often the collections noted as slow are logged (``gc_paused``)."""


def bare_app(settings: Settings) -> HubApp:
    """The hub's faust app with its broker, store and consumer settings, and no agents."""
    endpoint = kafka_endpoint(settings)
    app = HubApp(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=broker_credentials(endpoint),
        store=settings.table_store,
        datadir=str(settings.state_dir),
        autodiscover=False,
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=False,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger_ms=settings.producer_linger_ms,
    )
    app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    app.kafka_endpoint = endpoint
    return app


def create_app(settings: Settings) -> faust.App:
    """Build the hub's faust app with every agent registered."""
    tolerate_unreadable_batches()  # no record may stop the worker's consumers
    app = bare_app(settings)
    ingest = load_ingest_context(settings)
    keyring = Keyring.open(settings.keys_dir)
    _warn_of_party_secrets(keyring)
    keys = load_worker_keys(settings, keyring)
    clock = PolicyClock()
    register_ingest(app, settings, ingest, keys.verifier)
    register_policy(app, settings, clock, keys.verifier)
    correlator = load_correlator(settings, ingest.registry, keyring)
    feeds = consent_follower(settings, ingest)
    register_consent_feeds(app, feeds)
    register_correlate(app, settings, correlator, ingest.registry, (clock, keys, feeds))
    register_sequencer(app, settings, ingest.registry, keys)
    register_ledger(app, settings, keys)
    remember_states(settings.state_capacity)
    settle(settings.gc_young_threshold)  # last: what set-up built is frozen (hub.gcpolicy)
    slow = log_slow_collections()

    async def log_slow() -> None:  # outside the collector's callback (hub.gcpolicy)
        slow.flush()

    app.timer(interval=SLOW_COLLECTIONS_FLUSH_S)(log_slow)
    return app


def consent_follower(settings: Settings, ingest: IngestContext) -> ConsentFeeds:
    """The follower of the consent-taking agencies' feeds (``docs/consent.md``)."""
    agencies = {settings.feed_topic(a.id): a.id for a in ingest.registry.agencies}
    topics = consent_feeds(ingest.registry, {a: t for t, a in agencies.items()})
    watch = WithdrawalWatch(Ingest(ingest), ingest.decoder)
    return ConsentFeeds(
        kafka_endpoint(settings),
        {t: agencies[t] for t in topics},
        watch,
        fetch_wait_ms=settings.fetch_max_wait_ms,
    )


def _warn_of_party_secrets(keyring: Keyring) -> None:
    """A WARNING when the keyring holds a secret that belongs to an agency or a partnership.

    The worker needs their public keys only; the development keyring keeps every secret in one
    place for the demo, which production must not (docs/keys.md, docs/deploy.md).
    """
    found = party_secrets(keyring)
    if found:
        structlog.get_logger("agents.app").warning(
            "party_secret_keys_found",
            owners=sorted({i.owner for i in found}),
            keys=len(found),
            advice="a party's secret belongs with the party: give the hub public keys only",
        )


def worker_options(settings: Settings) -> dict[str, Any]:
    """Options for ``faust.Worker`` matching the hub's logging settings."""
    return {
        "loglevel": settings.log_level.lower(),
        "quiet": True,
        "redirect_stdouts": False,
        # aiokafka's DEBUG lines carry record keys and values: the libraries never go below INFO
        "logging_config": third_party_logging_config(settings.log_level),
    }
