"""Composition root: load everything a hub process needs from its settings, once."""

from __future__ import annotations

from hub.allowlist import load_allowlist
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import Keyring, SealVerifier, agency_owner
from hub.geo import AreaLookup
from hub.ingest import IngestContext
from hub.registry import Registry, load_registry


def load_registry_from(settings: Settings) -> Registry:
    """The registry under the settings' deploy directory."""
    return load_registry(settings.deploy_dir / "registry.yaml")


def load_ingest_context(settings: Settings) -> IngestContext:
    """Registry, area lookup, allow-list and schemas for the ingest step."""
    registry = load_registry_from(settings)
    keyring = Keyring.open(settings.keys_dir)
    verifier = SealVerifier(
        {a.id: keyring.verify_keys(agency_owner(a.id)) for a in registry.agencies}
    )
    return IngestContext(
        settings=settings,
        registry=registry,
        areas=AreaLookup.from_data_dir(settings.data_dir),
        allowlist=load_allowlist(settings.deploy_dir / "allowlist.yaml", registry),
        decoder=SchemaStore.load(settings.schemas_dir),
        verifier=verifier,
    )
