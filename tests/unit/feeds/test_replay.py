"""The police replay and the synthetic partner events: deterministic, signed per agency."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.agency import AgencyClient, AgencyKeys, draft_of
from hub.cli import feed
from hub.codec import SchemaStore
from hub.config import load_settings, settings_env
from hub.crypto import HmacKey, SealVerifier, SigningKey, decode_seal
from hub.feeds.agencies import partner_events
from hub.feeds.police import police_events
from hub.feeds.source import ReplayStats
from hub.geo import AreaLookup
from hub.registry import load_registry
from tests.recent import police_head

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared month's first 499 rows, moved to four months ago (the SDK refuses events over
    ten years old)."""
    return police_head(tmp_path_factory.mktemp("police") / "head.csv", 500)


def test_the_police_replay_is_reproducible_to_the_byte_of_every_token_and_id(head: Path) -> None:
    store = SchemaStore.load(ROOT / "schemas")
    areas = AreaLookup.from_data_dir(SHARED)
    linkage = HmacKey.generate()
    runs = []
    for _ in range(2):
        stats = ReplayStats()
        client = AgencyClient(AgencyKeys("police", linkage, SigningKey.generate()), store)
        drafts = [draft_of(e) for e in police_events(head, areas, store, stats)]
        runs.append([(p.key, p.event_id) for p in map(client.prepare, drafts)])
    assert runs[0] == runs[1]
    assert stats.rows == 499
    assert 0 < stats.events < stats.rows
    assert stats.skipped["other_crime_type"] > 0
    assert len({key for key, _ in runs[0]}) < len(runs[0])  # invented people recur


def test_partner_events_are_sealed_by_their_own_agency(head: Path) -> None:
    store = SchemaStore.load(ROOT / "schemas")
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    police = list(police_events(head, AreaLookup.from_data_dir(SHARED), store))
    by_agency: dict[str, list] = {}
    for event in partner_events(police, registry, store):
        by_agency.setdefault(event.agency_id, []).append(draft_of(event))
    assert len(by_agency) > 2
    linkage = HmacKey.generate()
    keys = {a: SigningKey.generate() for a in by_agency}
    verifier = SealVerifier({a: [k.verify_key] for a, k in keys.items()})
    counts: Counter[str] = Counter()
    for agency_id, drafts in by_agency.items():
        client = AgencyClient(AgencyKeys(agency_id, linkage, keys[agency_id]), store)
        for message in client.messages(drafts):
            counts[verifier.verify(message.value, message.seal).agency_id] += 1
            assert decode_seal(message.seal).key_id == keys[agency_id].key_id
    assert counts == Counter({a: len(d) for a, d in by_agency.items()})


def test_feed_send_without_a_keyring_says_how_to_make_one(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("{}\n", encoding="utf-8")
    settings = load_settings(keys_dir=tmp_path / "nokeys", deploy_dir=ROOT / "deploy")
    result = CliRunner().invoke(
        feed.app, ["send", "--agency", "education", "--file", str(rows)], env=settings_env(settings)
    )
    assert result.exit_code == 1
    assert f"hub keys init {tmp_path / 'nokeys'}" in result.output


def test_feed_send_refuses_a_csv_without_a_mapping(tmp_path: Path) -> None:
    rows = tmp_path / "rows.csv"
    rows.write_text("a,b\n1,2\n", encoding="utf-8")
    result = CliRunner().invoke(feed.app, ["send", "--agency", "education", "--file", str(rows)])
    assert result.exit_code == 1
    assert "--mapping" in result.output


def test_an_invented_person_keeps_one_identity_across_the_days_of_the_month(head: Path) -> None:
    store = SchemaStore.load(ROOT / "schemas")
    events = list(police_events(head, AreaLookup.from_data_dir(SHARED), store))
    by_name: dict[tuple[str, str, str], set[object]] = {}
    days: dict[tuple[str, str, str], set[object]] = {}
    for e in events:
        assert e.person is not None
        name = (e.person.given_name, e.person.family_name, e.person.postcode)
        by_name.setdefault(name, set()).add(e.person.date_of_birth)
        days.setdefault(name, set()).add(e.occurred_at.date())
    recurring = [name for name, seen in days.items() if len(seen) > 1]
    assert recurring, "the sample must hold a person seen on several days"
    assert all(len(by_name[name]) == 1 for name in recurring)
