"""A partnership's alert stream is a function of what it may see, and shares no id with another's.

Random histories of one subject's events (Reading and Oxfordshire areas, several agencies and
types, events arriving late and out of order, clock ticks between them) go through the pure
pipeline (:class:`~hub.correlate.Correlator`). Reading's stream is the decrypted bodies of its
alerts in order, de-duplicated by alert id as the sequencer does. Events the agreements deny
to Reading are then removed, or moved and retyped: Reading's stream must not change by one
byte. No field of a body is random by construction (the HPKE ciphertext is, and is not
compared), so whole bodies are compared.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.alerts import AlertBody, AlertKind, OpenedAlert, Unnumbered, number_alert, open_alert
from hub.codec import SchemaStore
from hub.config import Settings
from hub.correlate import Correlator
from hub.crypto import HUB, HmacKey, Keyring, create_dev_keyring, partnership_owner
from hub.dispatch import Moment, Step, SubjectState, event_facts
from hub.dsa import AgreementBook, Evaluator, load_directory
from hub.feeds.synthetic import synth_valid_fields
from hub.flags import Contribution, SubjectWindow, contribution_of, evaluate
from hub.ids import uuid7
from hub.pseudonym import NationalIdentity, linkage_token
from hub.registry import Registry, load_registry
from hub.runtime import load_correlator
from hub.sequencer import Pending

ROOT = Path(__file__).resolve().parents[3]
START = datetime(2026, 10, 1, tzinfo=UTC)
READING, OXFORDSHIRE, MILTON_KEYNES = "E01016353", "E01028422", "E01016710"
TOKEN = linkage_token(NationalIdentity("test", "view"), HmacKey(b"\x09" * 32)).text
KINDS = (
    ("csc.missing_episode", "childrens-social-care", {}),
    ("csc.exploitation_screening", "childrens-social-care", {"exploitation_type": "CRIMINAL"}),
    ("police.weapon_possession", "police", {}),
    ("education.suspension", "education", {}),
)
TICK_DAYS = 5


@dataclass(frozen=True, slots=True)
class Item:
    """One event of a history: what it is, where, when it happened and when the hub got it."""

    n: int
    kind: int
    lsoa: str
    occurred: timedelta
    arrived: timedelta


@dataclass(frozen=True, slots=True)
class World:
    correlator: Correlator
    keyring: Keyring
    registry: Registry
    book: AgreementBook


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    keys = tmp_path_factory.mktemp("keys")
    create_dev_keyring(keys, registry, START)
    settings_ = Settings(
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        keys_dir=keys,
        data_dir=ROOT.parent / "shared" / "data",
    )
    keyring = Keyring.open(keys)
    agreements = [a for _, a in load_directory(ROOT / "deploy" / "agreements").agreements]
    book = AgreementBook.from_agreements(agreements).up_to(len(agreements))
    return World(load_correlator(settings_, registry, keyring), keyring, registry, book)


def encode(store: SchemaStore, item: Item) -> bytes:
    event_type, agency, fields = KINDS[item.kind]
    when = START + item.occurred
    envelope = {
        "event_id": uuid7(when, seed=f"{item.n}".encode()),
        "agency_id": agency,
        "occurred_at": when,
        "recorded_at": when + timedelta(hours=1),
        "subject_token": TOKEN,
        "lsoa": item.lsoa,
        "age": 15,
        "key_id": "k",
    }
    body = synth_valid_fields(event_type, store.schema(event_type), random.Random(item.n), when)
    return store.encode(event_type, {"envelope": envelope, **body, **fields})


def steps(world: World, correlator: Correlator, items: Sequence[Item]) -> Iterator[Step]:
    """Each dispatch's step over ``items``: events as they arrive and a tick every
    ``TICK_DAYS`` days until 120 days after the last, in time order (an event before a tick
    of the same instant)."""
    evaluator = Evaluator(world.book, world.registry)
    state = SubjectState()
    last = max((i.arrived for i in items), default=timedelta(0)) + timedelta(days=120)
    ticks = [timedelta(days=d) for d in range(0, last.days, TICK_DAYS)]
    timeline: list[tuple[timedelta, int, Item | None]] = [(t, 1, None) for t in ticks]
    timeline += [(i.arrived, 0, i) for i in items]
    for at, _, item in sorted(timeline, key=lambda x: (x[0], x[1], x[2].n if x[2] else 0)):
        moment = Moment(START + at, evaluator, world.book.last_sequence)
        if item is None:
            step = correlator.rescan(TOKEN, state, moment)
        else:
            folded = correlator.fold(encode(correlator.store, item), state, moment)
            if folded is None:
                continue
            step = folded.step
        state = step.state
        yield step


def stream(world: World, items: Sequence[Item], partnership: str) -> list[bytes]:
    """The bodies ``partnership`` receives, in order, once each (as the sequencer numbers them)."""
    pending = [
        p
        for step in steps(world, world.correlator, items)
        for p in step.pending
        if p.partnership_id == partnership
    ]
    return [opened(world, p, partnership).body.to_bytes() for p in unique(pending)]


def unique(pending: list[Pending]) -> list[Pending]:
    seen: set[str] = set()
    out = []
    for p in pending:
        if p.alert_id not in seen:
            seen.add(p.alert_id)
            out.append(p)
    return out


def opened(world: World, p: Pending, partnership: str) -> OpenedAlert:
    keyring = world.keyring
    record = number_alert(
        Unnumbered(p.alert_id.encode(), p.value, p.headers), 1, keyring.signing_key(HUB)
    )
    found = open_alert(
        record,
        partnership,
        keyring.hpke_key(partnership_owner(partnership)),
        keyring.verify_keys(HUB),
    )
    assert isinstance(found, OpenedAlert)
    return found


def hidden_from(world: World, items: Sequence[Item], partnership: str) -> set[int]:
    """The items the agreements deny to ``partnership`` (whatever the time: no consent here)."""
    evaluator = Evaluator(world.book, world.registry)
    found = set()
    for item in items:
        decision = evaluator.decide(
            event_facts(contribution(world, item), TOKEN), partnership, START + item.arrived
        )
        if not decision.permitted:
            found.add(item.n)
    return found


def contribution(world: World, item: Item) -> Contribution:
    correlator = world.correlator
    read = correlator.read(encode(correlator.store, item))
    council = correlator.areas.council(read.envelope.lsoa)
    found = contribution_of(read, council, correlator.dispatcher.rules)
    assert found is not None
    return found


def items() -> st.SearchStrategy[list[Item]]:
    one = st.builds(
        lambda kind, lsoa, day, delay: (kind, lsoa, day, delay),
        st.integers(0, len(KINDS) - 1),
        st.sampled_from((READING, READING, OXFORDSHIRE, MILTON_KEYNES)),
        st.integers(0, 60),
        st.integers(0, 25),
    )

    def build(raw: list[tuple[int, str, int, int]]) -> list[Item]:
        return [
            Item(n, kind, lsoa, timedelta(days=day, hours=n % 24), timedelta(days=day + delay))
            for n, (kind, lsoa, day, delay) in enumerate(raw)
        ]

    return st.lists(one, min_size=1, max_size=14).map(build)


SETTINGS: Any = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(history=items(), data=st.data())
def test_events_reading_may_not_see_never_change_its_stream(
    world: World, history: list[Item], data: st.DataObject
) -> None:
    hidden = hidden_from(world, history, "reading")
    full = stream(world, history, "reading")
    without = stream(world, [i for i in history if i.n not in hidden], "reading")
    assert full == without
    changed = [
        replace(
            i,
            kind=data.draw(st.integers(0, len(KINDS) - 1)),
            occurred=i.occurred + timedelta(days=data.draw(st.integers(-10, 10))),
            arrived=i.arrived + timedelta(days=data.draw(st.integers(0, 10))),
        )
        if i.n in hidden
        else i
        for i in history
    ]
    assert hidden_from(world, changed, "reading") >= hidden  # still hidden after the change
    assert stream(world, changed, "reading") == full


def test_a_hidden_event_moves_the_hub_flag_but_not_readings(world: World) -> None:
    """The property is not vacuous: a hidden event does move and escalate the hub's flag."""
    visible = [
        Item(0, 2, READING, timedelta(days=10), timedelta(days=10)),
        Item(1, 3, READING, timedelta(days=12), timedelta(days=12)),
    ]
    hidden = [Item(2, 2, OXFORDSHIRE, timedelta(days=5), timedelta(days=13))]
    assert hidden_from(world, hidden, "reading") == {2}
    seen = [AlertBody.from_bytes(b) for b in stream(world, visible + hidden, "reading")]
    start = (START + timedelta(days=10)).date()
    assert [(b.kind, b.window_start, b.severity) for b in seen] == [
        (AlertKind.RAISED, start, "medium"),
        (AlertKind.EXPIRED, start, "medium"),
    ]
    assert stream(world, visible + hidden, "reading") == stream(world, visible, "reading")
    window = SubjectWindow(contributions=tuple(contribution(world, i) for i in visible + hidden))
    [flag] = evaluate(world.correlator.dispatcher.rules, TOKEN, window, START + timedelta(days=13))
    assert flag.window_start == START + timedelta(days=5)  # the hidden event's
    assert flag.severity == "high"  # three events reach the escalation


def leaves(doc: Any, path: str = "") -> set[tuple[str, str]]:
    """Every (path, value) of a JSON document, list positions dropped."""
    if isinstance(doc, dict):
        return {leaf for key, value in doc.items() for leaf in leaves(value, f"{path}.{key}")}
    if isinstance(doc, list):
        return {leaf for value in doc for leaf in leaves(value, path)}
    return {(path, str(doc))}


#: Where a body holds public vocabulary or a date its partnership may see.
PUBLIC = (
    ".format",
    ".kind",
    ".rule.",
    ".severity",
    ".window.",
    ".events.",
    ".ask",
    ".agreements",
    ".decided_at",
)


def test_two_partnerships_told_of_one_subject_share_no_identifier(world: World) -> None:
    history = [
        Item(0, 2, READING, timedelta(days=10), timedelta(days=10)),
        Item(1, 3, READING, timedelta(days=12), timedelta(days=12)),
        Item(2, 2, OXFORDSHIRE, timedelta(days=11), timedelta(days=14)),
        Item(3, 3, OXFORDSHIRE, timedelta(days=13), timedelta(days=15)),
    ]
    reading = [AlertBody.from_bytes(b).to_json() for b in stream(world, history, "reading")]
    oxfordshire = [AlertBody.from_bytes(b).to_json() for b in stream(world, history, "oxfordshire")]
    assert reading
    assert oxfordshire
    ours = {v for d in reading for p, v in leaves(d) if not p.startswith(PUBLIC)}
    theirs = {v for d in oxfordshire for p, v in leaves(d) if not p.startswith(PUBLIC)}
    assert ours.isdisjoint(theirs)
    for docs in (reading, oxfordshire):  # identifiers are what remains, and there are some
        assert {p for d in docs for p, _ in leaves(d) if not p.startswith(PUBLIC)} == {
            ".alert_id",
            ".flag_id",
            ".subject",
        }
    everything = {v for d in reading for _, v in leaves(d)}
    assert everything.isdisjoint(theirs)  # not even under another name


def test_a_late_event_that_moves_the_window_is_an_update_of_the_same_flag(world: World) -> None:
    history = [
        Item(0, 2, READING, timedelta(days=10), timedelta(days=10)),
        Item(1, 3, READING, timedelta(days=12), timedelta(days=12)),
        Item(2, 2, READING, timedelta(days=8), timedelta(days=14)),  # late, and earliest
    ]
    bodies = [AlertBody.from_bytes(b) for b in stream(world, history, "reading")]
    assert [b.kind for b in bodies] == [AlertKind.RAISED, AlertKind.UPDATED, AlertKind.EXPIRED]
    assert len({b.flag_id for b in bodies}) == 1
    assert bodies[1].window_start == (START + timedelta(days=8)).date()
    assert len(bodies[1].events) == 3


def test_an_event_that_changes_nothing_a_duty_team_acts_on_sends_nothing(world: World) -> None:
    history = [
        Item(0, 2, READING, timedelta(days=10), timedelta(days=10)),
        Item(1, 3, READING, timedelta(days=12), timedelta(days=12)),
        Item(2, 2, READING, timedelta(days=14), timedelta(days=14)),  # third: escalates
        Item(3, 3, READING, timedelta(days=16), timedelta(days=16)),  # same agencies, same level
    ]
    bodies = [AlertBody.from_bytes(b) for b in stream(world, history, "reading")]
    assert [(b.kind, b.severity, len(b.events)) for b in bodies] == [
        (AlertKind.RAISED, "medium", 2),
        (AlertKind.UPDATED, "high", 3),
        (AlertKind.EXPIRED, "high", 0),
    ]
