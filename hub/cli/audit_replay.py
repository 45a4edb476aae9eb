"""What ``hub audit replay`` re-derives decisions from, as one picklable value.

The topics are read once, in the command's process; :class:`ReplaySource` carries what was
read (agreements, accepted records, consent feed records) and where the rest is (settings,
the keys given). Called, it builds a :class:`~hub.audit.Replayer`: in the command's process,
and in each process of a sharded replay (:func:`hub.audit.shard.replay_sharded`), which
starts with ``spawn`` and so receives nothing but this value.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hub.audit import History, Replayer
from hub.audit.history import Scope, StreamRecord, StreamTrust
from hub.cli.audit_feeds import watermark_check
from hub.cli.audit_topics import TopicNames
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import KeyKind, Keyring, partnership_owner
from hub.crypto.bundle import load_trusted_keys
from hub.crypto.trust import RecordVerifier, TrustedKeys
from hub.errors import HubError
from hub.geo import AreaLookup
from hub.idkey import IdKey
from hub.ingest import FeedMessage
from hub.registry import Registry
from hub.rules import RuleSet, catalog_from_store
from hub.runtime import load_registry_from


def trusted_keys(settings: Settings, hub_keys: Path | None) -> TrustedKeys:
    """The public keys given (``--hub-keys``), or those of ``HUB_KEYS_DIR``."""
    return load_trusted_keys(hub_keys or settings.keys_dir)


def recipient_id_keys(keys_dir: Path, registry: Registry) -> dict[str, IdKey]:
    """The partnerships' id keys from the hub's keyring, for those it holds (replay's mapping).

    Partnerships see only ids keyed per partnership; the auditor re-derives them with these.
    A partnership whose key is not in the keyring is left out: replay then reports its ids.
    """
    found: dict[str, IdKey] = {}
    try:
        keyring = Keyring.open(keys_dir)
    except HubError:
        return found
    for partnership in registry.partnerships:
        try:
            pseudonym_key = keyring.hmac_key(partnership_owner(partnership.id), KeyKind.PSEUDONYM)
        except HubError:
            continue
        found[partnership.id] = IdKey.of(pseudonym_key)
    return found


@dataclass(frozen=True)
class ReplaySource:
    """The streams a replay reads, as read, and the settings and keys it trusts."""

    settings: Settings
    hub_keys: Path | None
    names: TopicNames
    agreements: tuple[bytes, ...]
    accepted: tuple[StreamRecord, ...]
    feeds: tuple[FeedMessage, ...] | None
    """The consent feeds' records, or None when the export holds none."""

    def __call__(self) -> Replayer:
        """A replayer over these streams (every record authenticated again here)."""
        return self.scoped(None)

    def scoped(self, scope: Scope | None) -> Replayer:
        """A replayer whose history indexes the accepted partitions ``scope`` keeps (every
        one: None; a sharded replay's process, :mod:`hub.audit.shard`)."""
        settings = self.settings
        verifier = RecordVerifier(trusted_keys(settings, self.hub_keys))
        trust = StreamTrust(verifier, self.names.agreements, self.names.accepted)
        store = SchemaStore.load(settings.schemas_dir)
        history = History(store, self.agreements, trust, scope)
        for record in self.accepted:
            history.add(record)
        registry = load_registry_from(settings)
        return Replayer(
            history,
            RuleSet.load(settings.deploy_dir / "rules", catalog_from_store(store)),
            registry,
            AreaLookup.from_data_dir(settings.data_dir),
            recipient_id_keys(settings.keys_dir, registry),
            feeds=None if self.feeds is None else watermark_check(settings, list(self.feeds)),
        )
