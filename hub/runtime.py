"""Composition root: load everything a hub process needs from its settings, once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from hub.codec import SchemaStore
from hub.config import Settings
from hub.correlate import Correlator
from hub.crypto import (
    HUB,
    HmacKey,
    KeyKind,
    Keyring,
    SealVerifier,
    SigningKey,
    agency_key_source,
    partnership_owner,
)
from hub.crypto.trust import RecordVerifier, keyring_source
from hub.dispatch import Dispatcher, Recipient
from hub.geo import AreaLookup
from hub.ingest import IngestContext
from hub.registry import Registry, load_registry
from hub.rules import RuleSet, catalog_from_store


def load_registry_from(settings: Settings) -> Registry:
    """The registry under the settings' deploy directory."""
    return load_registry(settings.deploy_dir / "registry.yaml")


def load_correlator(settings: Settings, registry: Registry, keyring: Keyring) -> Correlator:
    """Rules, schemas, areas and every partnership's keys for correlation and dispatch."""
    store = SchemaStore.load(settings.schemas_dir)
    rules = RuleSet.load(settings.deploy_dir / "rules", catalog_from_store(store))
    recipients = tuple(
        Recipient(
            partnership_id=p.id,
            hpke=keyring.hpke_public_key(partnership_owner(p.id)),
            pseudonym_key=keyring.hmac_key(partnership_owner(p.id), KeyKind.PSEUDONYM),
        )
        for p in registry.partnerships
    )
    return Correlator(
        store, AreaLookup.from_data_dir(settings.data_dir), Dispatcher(rules, recipients)
    )


def load_ingest_context(settings: Settings) -> IngestContext:
    """Registry, area lookup, allow-list and schemas for the ingest step."""
    return _ingest_context(
        settings, Keyring.open(settings.keys_dir).hmac_key(HUB, KeyKind.INTERNAL)
    )


def audit_ingest_context(settings: Settings) -> IngestContext:
    """The ingest checks as an auditor runs them on the consent feeds (``hub audit replay``).

    Everything the worker checks a feed record with comes from public keys. The internal key
    only authenticates the accepted record ingest would write, which replay never writes, so
    a fresh random one stands in: the auditor need not hold the hub's.
    """
    return _ingest_context(settings, HmacKey(secrets.token_bytes(32)))


def _ingest_context(settings: Settings, internal_key: HmacKey) -> IngestContext:
    registry = load_registry_from(settings)
    verifier = SealVerifier.from_source(
        agency_key_source(settings.keys_dir, (a.id for a in registry.agencies))
    )
    return IngestContext(
        settings=settings,
        registry=registry,
        areas=AreaLookup.from_data_dir(settings.data_dir),
        decoder=SchemaStore.load(settings.schemas_dir),
        verifier=verifier,
        internal_key=internal_key,
    )


@dataclass(frozen=True, slots=True)
class WorkerKeys:
    """The keys a worker writes and reads its internal records with (``hub.crypto.record``)."""

    internal: HmacKey
    """The hub's current internal MAC key: accepted, outbox and table values."""
    hub: SigningKey
    """The hub's current signing key: decisions (and alerts, tree heads)."""
    verifier: RecordVerifier
    """Every key the worker trusts, re-read from the keyring when a record names a new one."""


def load_worker_keys(settings: Settings, keyring: Keyring) -> WorkerKeys:
    """The worker's keys from its keyring (KeyringError when one is missing)."""
    return WorkerKeys(
        internal=keyring.hmac_key(HUB, KeyKind.INTERNAL),
        hub=keyring.signing_key(HUB),
        verifier=RecordVerifier.from_source(keyring_source(settings.keys_dir)),
    )
