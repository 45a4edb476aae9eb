"""The whole ingest step never raises and classifies every input, whatever the bytes.

Over 100,000 inputs: arbitrary byte strings with and without a seal header, and sealed valid
events with the event, the seal, or both mutated. Every one ends accepted (only an untouched
valid event can be) or quarantined with a reason from the closed list, and no input is an
``internal_error``: every failure is one the hub understands. A mutated example draws only an
event and a seed, and its mutations come from that seed, so its batch is larger (80 mutations of
one event, where 20 were): a quarter of the examples make as many inputs at a quarter of
hypothesis's cost, and the tally checks that every valid event was mutated.
"""

from __future__ import annotations

import atexit
import random
import shutil
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.agency import AgencyClient, agency_keys, draft_of
from hub.codec import SchemaStore
from hub.config import Settings
from hub.crypto import Keyring, create_dev_keyring
from hub.feeds.agencies import partner_events
from hub.feeds.police import police_events
from hub.feeds.sample import write_sample_data
from hub.geo import AreaLookup
from hub.ingest import SEAL_HEADER, FeedMessage, Ingest
from hub.quarantine import REASONS, SourceRef
from hub.registry import load_registry
from hub.runtime import load_ingest_context

ROOT = Path(__file__).resolve().parents[3]
BATCH = 20
MUTATED_BATCH = 80
ARBITRARY = 2_500
MUTATED = 650
FUZZ = settings(
    deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)

WORK = Path(tempfile.mkdtemp(prefix="ingest-fuzz-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)  # made at import, removed at exit
REGISTRY = load_registry(ROOT / "deploy" / "registry.yaml")
create_dev_keyring(WORK / "keys", REGISTRY, datetime.now(UTC))
DATA = write_sample_data(WORK / "data", REGISTRY, rows=300)
SETTINGS = Settings(
    deploy_dir=ROOT / "deploy", schemas_dir=ROOT / "schemas", keys_dir=WORK / "keys", data_dir=DATA
)
STORE = SchemaStore.load(SETTINGS.schemas_dir)
INGEST = Ingest(load_ingest_context(SETTINGS))
COUNTS: Counter[str] = Counter()
MUTATED_EVENTS: set[int] = set()


def _valid_messages() -> list[tuple[str, bytes, bytes]]:
    """(agency, event bytes, seal bytes) for sealed valid events of several agencies."""
    areas = AreaLookup.from_data_dir(DATA)
    # The sample month replayed 100 days ago, whatever the date: the hub refuses events over
    # ten years old, and partner events fall up to 60 days after the police events they follow.
    month = datetime.now(UTC) - timedelta(days=100)
    csv = next((DATA / "police").glob("*.csv"))
    police = list(police_events(csv, areas, STORE, rebase_to=month))[:40]
    events = police + list(partner_events(police, REGISTRY, STORE))
    keyring = Keyring.open(SETTINGS.keys_dir)
    out = []
    for agency in sorted({e.agency_id for e in events}):
        client = AgencyClient(agency_keys(keyring, agency), STORE)
        messages = client.messages([draft_of(e) for e in events if e.agency_id == agency])
        out += [(agency, m.value, dict(m.headers)[SEAL_HEADER]) for m in messages]
    return out


VALID = _valid_messages()


def run(agency: str, value: bytes, seal: bytes | None, offset: int) -> str:
    """Ingest one input on a fresh de-duplication table; returns its reason."""
    headers = () if seal is None else ((SEAL_HEADER, seal),)
    source = SourceRef(topic=SETTINGS.feed_topic(agency), partition=0, offset=offset)
    outcome = INGEST.process(FeedMessage(value, None, headers, source, agency), {})
    assert outcome.status in {"accepted", "quarantined"}
    assert outcome.status == "accepted" or outcome.reason in REASONS - {"internal_error"}
    COUNTS[outcome.reason] += 1
    return outcome.reason


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(max(len(out), 1))
        kind = rng.choice(("flip", "truncate", "insert", "delete"))
        if kind == "flip" and out:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            del out[at:]
        elif kind == "insert":
            out[at:at] = rng.randbytes(rng.randint(1, 8))
        else:
            del out[at : at + rng.randint(1, 6)]
    return bytes(out)


def test_valid_events_are_accepted() -> None:
    assert len({a for a, _, _ in VALID}) >= 3
    assert {run(a, v, s, n) for n, (a, v, s) in enumerate(VALID)} == {"accepted"}


@settings(FUZZ, max_examples=ARBITRARY)
@given(
    data=st.binary(max_size=400),
    seal=st.none() | st.binary(max_size=400),
    seed=st.integers(0, 2**32),
)
def arbitrary_inputs(data: bytes, seal: bytes | None, seed: int) -> None:
    rng = random.Random(seed)
    run("police", data, seal, 0)
    for n in range(BATCH - 1):
        run("police", b"\xc3\x01" + rng.randbytes(rng.randint(0, 300)), seal, n)


@settings(FUZZ, max_examples=MUTATED)
@given(index=st.integers(0, len(VALID) - 1), seed=st.integers(0, 2**32))
def mutated_sealed_events(index: int, seed: int) -> None:
    rng = random.Random(seed)
    agency, value, seal = VALID[index]
    MUTATED_EVENTS.add(index)
    for n in range(MUTATED_BATCH):
        which = rng.choice(("event", "seal", "both"))
        event = mutate(value, rng) if which != "seal" else value
        sealed = mutate(seal, rng) if which != "event" else seal
        reason = run(agency, event, sealed, n)
        assert reason != "accepted" or (event, sealed) == (value, seal) or event == value


# CPU-bound (hypothesis draws most of it): on a loaded two-core host it passed 120 s, and its
# mark also deals it among the first tests (tests/conftest.py).
@pytest.mark.timeout(300)
def test_every_input_of_both_searches_is_classified() -> None:
    """Both hypothesis searches, then their tally: 100,000+ inputs, each one classified.

    One test, so that the tally sees both searches whichever process runs it (pytest-xdist).
    """
    COUNTS.clear()
    MUTATED_EVENTS.clear()
    arbitrary_inputs()
    mutated_sealed_events()
    assert sum(COUNTS.values()) >= ARBITRARY * BATCH + MUTATED * MUTATED_BATCH >= 100_000
    assert set(range(len(VALID))) == MUTATED_EVENTS
    assert {"decode_error", "bad_signature"} <= set(COUNTS)
