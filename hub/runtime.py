"""Composition root: load everything a hub process needs from its settings, once."""

from __future__ import annotations

from hub.codec import SchemaStore
from hub.config import Settings
from hub.correlate import Correlator
from hub.crypto import KeyKind, Keyring, SealVerifier, agency_key_source, partnership_owner
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
    )
