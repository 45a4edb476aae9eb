"""Dispatch: what each partnership is told about a subject's flags, deterministically."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub import remembered
from hub.alerts import AlertKind, Unnumbered, number_alert, open_alert
from hub.alerts.headers import CE_TYPE
from hub.codec import SchemaStore
from hub.config import Settings
from hub.consent import ConsentLedger
from hub.correlate import _MOMENT_FIELDS, Correlator, _with_consent
from hub.crypto import HUB, HmacKey, Keyring, create_dev_keyring, partnership_owner
from hub.dispatch import DecisionRecord, Dispatcher, Moment, Position, SubjectState
from hub.dsa import AgreementBook, Evaluator, load_directory
from hub.feeds.synthetic import synth_valid_fields
from hub.flags import Contribution, SubjectWindow
from hub.ids import uuid7
from hub.pseudonym import NationalIdentity, linkage_token
from hub.registry import load_registry
from hub.rules import RuleSet
from hub.runtime import load_correlator
from hub.sequencer import Pending

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
READING = "E01016353"
TOKEN = linkage_token(NationalIdentity("test", "1"), HmacKey(b"\x07" * 32)).text
SCENARIO = (
    ("csc.missing_episode", "childrens-social-care", {}),
    ("csc.exploitation_screening", "childrens-social-care", {"exploitation_type": "CRIMINAL"}),
    ("police.weapon_possession", "police", {}),
    ("education.suspension", "education", {}),
)


World = tuple[Correlator, Keyring, AgreementBook]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    keys = tmp_path_factory.mktemp("keys")
    create_dev_keyring(keys, registry, NOW)
    settings = Settings(
        deploy_dir=ROOT / "deploy",
        schemas_dir=ROOT / "schemas",
        keys_dir=keys,
        data_dir=ROOT.parent / "shared" / "data",
    )
    keyring = Keyring.open(keys)
    agreements = [a for _, a in load_directory(ROOT / "deploy" / "agreements").agreements]
    return (
        load_correlator(settings, registry, keyring),
        keyring,
        AgreementBook.from_agreements(agreements).up_to(len(agreements)),
    )


def events(store: SchemaStore, key_id: str = "k") -> list[bytes]:
    out = []
    for n, (event_type, agency, fields) in enumerate(SCENARIO):
        when = NOW - timedelta(days=10 - n)
        envelope = {
            "event_id": uuid7(when, seed=f"{n}".encode()),
            "agency_id": agency,
            "occurred_at": when,
            "recorded_at": when + timedelta(hours=1),
            "subject_token": TOKEN,
            "lsoa": READING,
            "age": 15,
            "key_id": key_id,
        }
        body = synth_valid_fields(event_type, store.schema(event_type), random.Random(n), when)
        out.append(store.encode(event_type, {"envelope": envelope, **body, **fields}))
    return out


def moment(
    world: World,
    at: datetime = NOW,
    book: AgreementBook | None = None,
) -> Moment:
    full = world[2]
    registry = load_registry(ROOT / "deploy" / "registry.yaml")
    chosen = full if book is None else book
    return Moment(at=at, policy=Evaluator(chosen, registry), policy_sequence=chosen.last_sequence)


def fold_all(world: World, values: list[bytes]) -> tuple[SubjectState, list[Pending]]:
    correlator = world[0]
    state = SubjectState()
    pending: list[Pending] = []
    for value in values:
        folded = correlator.fold(value, state, moment(world))
        assert folded is not None
        state = folded.step.state
        pending += folded.step.pending
    return state, pending


def test_the_scenario_raises_two_flags_at_reading_only(world: World) -> None:
    state, pending = fold_all(world, events(world[0].store))
    assert {p.partnership_id for p in pending} == {"reading"}
    keyring = world[1]
    kinds = Counter()
    for p in pending:
        record = number_alert(
            Unnumbered(p.alert_id.encode(), p.value, p.headers), 1, keyring.signing_key(HUB)
        )
        opened = open_alert(
            record,
            "reading",
            keyring.hpke_key(partnership_owner("reading")),
            keyring.verify_keys(HUB),
        )
        kinds[(opened.body.rule.id, opened.body.kind)] += 1
        assert opened.body.subject.startswith("ps1:")
        assert TOKEN not in opened.body.to_bytes().decode()
    assert kinds == {
        ("child-exploitation", AlertKind.RAISED): 1,
        ("weapon-and-exclusion", AlertKind.RAISED): 1,
    }
    assert len(state.held["reading"]) == 2


def test_reprocessing_the_same_events_in_any_order_gives_the_same_alert_ids(world: World) -> None:
    values = events(world[0].store)
    first, pending = fold_all(world, values)
    second, again = fold_all(world, list(reversed(values)))
    assert first.held == second.held
    final_ids = {p.alert_id for p in pending} & {p.alert_id for p in again}
    assert final_ids  # the flags' final revisions are addressed by the same ids


def test_a_redelivered_event_resends_the_current_alerts_with_their_ids(world: World) -> None:
    values = events(world[0].store)
    state, pending = fold_all(world, values)
    resent = world[0].fold(values[-1], state, moment(world))
    assert resent is not None
    assert resent.step.state.held == state.held
    assert {p.alert_id for p in resent.step.pending} <= {p.alert_id for p in pending}
    assert len(resent.step.pending) == 2


def test_flags_expire_at_the_end_of_their_window(world: World) -> None:
    state, _ = fold_all(world, events(world[0].store))
    later = world[0].rescan(TOKEN, state, moment(world, NOW + timedelta(days=120)))
    assert not later.state.sent
    assert len(later.pending) == 2
    kinds = set()
    keyring = world[1]
    for p in later.pending:
        record = number_alert(
            Unnumbered(p.alert_id.encode(), p.value, p.headers), 1, keyring.signing_key(HUB)
        )
        kinds.add(
            open_alert(
                record,
                "reading",
                keyring.hpke_key(partnership_owner("reading")),
                keyring.verify_keys(HUB),
            ).body.kind
        )
    assert kinds == {AlertKind.EXPIRED}


def test_an_agreement_that_ends_retracts_the_flag(world: World) -> None:
    state, _ = fold_all(world, events(world[0].store))
    without_police = AgreementBook(
        [e for e in world[2].entries if not e.agreement.id.startswith("tv-police")]
    ).up_to(10**6)
    step = world[0].rescan(TOKEN, state, moment(world, book=without_police))
    assert not step.state.sent
    assert len(step.pending) == 2  # both flags rest on a police event
    assert {d.outcome for d in step.decisions} == {"deny"}


def test_every_decision_is_recorded_without_tokens_or_values(world: World) -> None:
    correlator = world[0]
    values = events(correlator.store)
    state = SubjectState()
    records = []
    for value in values:
        folded = correlator.fold(value, state, moment(world))
        assert folded is not None
        state = folded.step.state
        records += folded.step.decisions
    assert {r.recipient for r in records} == {
        p.id for p in load_registry(ROOT / "deploy" / "registry.yaml").partnerships
    }
    text = "".join(r.model_dump_json() for r in records)
    assert TOKEN not in text
    assert "CRIMINAL" not in text
    permits = [r for r in records if r.outcome == "permit"]
    assert {r.recipient for r in permits} == {"reading"}
    assert all(r.alert_id for r in permits)


def test_a_state_is_written_as_pydantic_writes_it_and_read_back_equal(world: World) -> None:
    # SubjectState.to_bytes joins remembered contribution JSON; the bytes must be the model's.
    state, _ = fold_all(world, events(world[0].store))
    expired = world[0].rescan(TOKEN, state, moment(world, NOW + timedelta(days=120))).state
    for each in (SubjectState(), state, expired):
        data = each.to_bytes()
        assert data == each.model_dump_json().encode()
        assert data == each.to_bytes()  # the second time from remembered contributions
        assert SubjectState.from_bytes(data) == each
        assert SubjectState.model_validate_json(data) == each


def test_a_dispatcher_that_remembers_episodes_decides_as_one_that_does_not(world: World) -> None:
    live = world[0]
    rules, recipients = live.dispatcher.rules, live.dispatcher.recipients
    remembering = replace(live, dispatcher=Dispatcher(rules, recipients, remembered=4))
    state, _ = fold_all(world, events(live.store))
    # the same window objects rescanned day after day, past the flags' expiry, both ways
    for days in (0, 1, 1, 30, 120, 120):
        at = moment(world, NOW + timedelta(days=days))
        plain, kept = live.rescan(TOKEN, state, at), remembering.rescan(TOKEN, state, at)
        assert kept.state == plain.state
        assert kept.decisions == plain.decisions
        assert [(p.partnership_id, p.alert_id) for p in kept.pending] == [
            (p.partnership_id, p.alert_id) for p in plain.pending
        ]
    assert remembering.dispatcher.episodes(state.window) == live.dispatcher.episodes(state.window)


def test_a_dispatcher_without_a_ledger_counts_the_decisions_it_would_record(
    world: World,
) -> None:
    """A backtest's dispatcher writes no record; its counts are the records' rule,
    partnership and outcome, in order, and everything else it gives is the same."""
    live = world[0]
    rules, recipients = live.dispatcher.rules, live.dispatcher.recipients
    counted_only = Dispatcher(rules, recipients, ledger=False)
    counting = replace(live, dispatcher=counted_only)
    states = {True: SubjectState(), False: SubjectState()}
    steps = []
    for value in events(live.store):
        recorded = live.fold(value, states[True], moment(world))
        counted = counting.fold(value, states[False], moment(world))
        assert recorded is not None
        assert counted is not None
        states = {True: recorded.step.state, False: counted.step.state}
        steps.append((recorded.step, counted.step))
    for days in (1, 30, 120):  # rescans, past the flags' expiry
        at = moment(world, NOW + timedelta(days=days))
        steps.append(
            (live.rescan(TOKEN, states[True], at), counting.rescan(TOKEN, states[False], at))
        )
    outcomes = set()
    for recorded_step, counted_step in steps:
        assert counted_step.decisions == ()
        assert counted_step.counted == tuple(
            (r.rule_id, r.recipient, r.outcome) for r in recorded_step.decisions
        )
        assert list(counted_step.outcomes()) == list(recorded_step.outcomes())
        assert counted_step.state == recorded_step.state
        assert [p.alert_id for p in counted_step.pending] == [
            p.alert_id for p in recorded_step.pending
        ]
        outcomes |= {o for _, _, o in counted_step.counted}
    assert outcomes == {"permit", "deny"}


def test_a_backtests_dispatcher_counts_at_a_tick_what_the_worker_records(world: World) -> None:
    """A dispatcher without a ledger keeps its floors put as the worker's does: a tick's
    rescan that changes nothing leaves its state as it is (the worker records nothing of it,
    nor does the backtest count it), and one that expires flags counts the worker's records."""
    live = world[0]
    counting = replace(
        live, dispatcher=Dispatcher(live.dispatcher.rules, live.dispatcher.recipients, ledger=False)
    )
    recorded, counted = fold_all(world, events(live.store))[0], SubjectState()
    for value in events(live.store):
        folded = counting.fold(value, counted, moment(world))
        assert folded is not None
        counted = folded.step.state
    assert counted == recorded
    quiet = moment(world, NOW + timedelta(days=1))
    worker, backtest = live.rescan(TOKEN, recorded, quiet), counting.rescan(TOKEN, counted, quiet)
    assert worker.state == recorded  # unchanged: the worker records none of its decisions
    assert worker.decisions
    assert backtest.state == counted  # its floors stay put: nothing changed, nothing to store
    assert list(backtest.outcomes()) == list(worker.outcomes())
    later = moment(world, NOW + timedelta(days=120))  # the flags expire: the state changes
    worker, backtest = live.rescan(TOKEN, recorded, later), counting.rescan(TOKEN, counted, later)
    assert worker.state != recorded
    assert worker.pending
    assert backtest.state == worker.state
    assert [p.alert_id for p in backtest.pending] == [p.alert_id for p in worker.pending]
    assert list(backtest.outcomes()) == list(worker.outcomes())


def test_decision_records_are_what_validating_their_values_gives(world: World) -> None:
    """Dispatch builds its records from values of their fields' types without validating
    them again: validated afresh they are equal, field for field and as JSON."""
    correlator = world[0]
    state, records = SubjectState(), []
    for value in events(correlator.store):
        folded = correlator.fold(value, state, moment(world))
        assert folded is not None
        state, records = folded.step.state, records + list(folded.step.decisions)
    records += correlator.rescan(TOKEN, state, moment(world, NOW + timedelta(days=120))).decisions
    assert {r.outcome for r in records} == {"permit", "deny"}
    for record in records:
        again = DecisionRecord.model_validate(record.model_dump())
        assert again == record
        assert again.model_dump_json() == record.model_dump_json()
        assert record.model_fields_set == set(DecisionRecord.model_fields)


def test_a_moment_with_a_subjects_consent_is_replace_s() -> None:
    """The correlator copies a moment with the subject's consent field by field: every other
    field (one added later too) carries over, as ``dataclasses.replace`` would have it."""
    base = Moment(
        at=NOW,
        policy=Evaluator(AgreementBook(), load_registry(ROOT / "deploy" / "registry.yaml")),
        policy_sequence=3,
        position=Position(partition=1, offset=7),
        watermark=(),
    )
    ledger = ConsentLedger()
    copied = _with_consent(base, ledger)
    assert copied == replace(base, consent=ledger)
    assert copied.consent is ledger
    assert _with_consent(copied, ledger) is copied
    assert _with_consent(base, ledger) is copied  # the record's next subject, same ledger
    other = ConsentLedger()
    assert _with_consent(base, other) == replace(base, consent=other)
    assert _with_consent(base, other).consent is other
    later = replace(base, at=NOW + timedelta(seconds=1))
    assert _with_consent(later, other) == replace(later, consent=other)
    assert {f.name for f in dataclasses.fields(Moment)} == set(_MOMENT_FIELDS)


def test_a_trim_floors_each_partnership_over_what_it_saw_before_the_drop(world: World) -> None:
    """Child exploitation in Reading: a missing episode on day 0, then a screening, another
    missing episode and a weapon on days 80 to 85, dispatched on day 86. The trim on day 100
    drops day 0's episode; Reading's floor for the rule is computed over what it saw before
    the drop (the old episode's end, day 90), so the events left can never form a new flag
    for it: the dispatch after the trim tells Reading its flag expired, and nothing else."""
    dispatcher = world[0].dispatcher
    start = NOW - timedelta(days=120)
    kinds = (
        (0, "csc.missing_episode", "childrens-social-care", {}),
        (
            80,
            "csc.exploitation_screening",
            "childrens-social-care",
            {"exploitation_type": "CRIMINAL"},
        ),
        (82, "csc.missing_episode", "childrens-social-care", {}),
        (85, "police.weapon_possession", "police", {}),
    )
    state, window = SubjectState(), SubjectWindow()
    for n, (day, event_type, agency, fields) in enumerate(kinds):
        window = window.add(
            Contribution(
                event_id=f"e{n}",
                event_type=event_type,
                agency_id=agency,
                occurred_at=start + timedelta(days=day),
                council="E06000038",
                lsoa=READING,
                age=15,
                fields=fields,
            )
        )
        state = state.model_copy(update={"window": window})
        state = dispatcher.dispatch(TOKEN, state, moment(world, start + timedelta(days=86))).state
    held = {pid: set(flags) for pid, flags in state.held.items()}
    assert held.get("reading")  # the rule held on days 0 to 85
    day100 = moment(world, start + timedelta(days=100))
    trimmed = dispatcher.trim(TOKEN, state, day100)
    assert len(trimmed.window.contributions) < len(window.contributions)  # day 0 dropped
    assert trimmed.floors["reading"]["child-exploitation"] == start + timedelta(days=90)
    step = dispatcher.dispatch(TOKEN, trimmed, day100)
    told = [dict(p.headers)[CE_TYPE] for p in step.pending if p.partnership_id == "reading"]
    assert told == [b"vru.flag.expired"]  # the old flag expires; no new one is raised
    after = {pid: set(flags) for pid, flags in step.state.held.items()}
    assert all(after[pid] <= held.get(pid, set()) for pid in after)


def test_the_remembered_hub_flags_are_bounded_by_their_members() -> None:
    """A subject's flag as the hub records it, remembered across dispatches by its members'
    identities (``hub.remembered.remembered_flag``): 1,500 growing sets of one subject's events keep
    at most the budget of members in all."""
    rule = RuleSet.load(ROOT / "deploy" / "rules").get("repeated-violence")
    members = [
        Contribution(
            event_id=f"e{n}",
            event_type="police.violent_incident",
            agency_id="police",
            occurred_at=NOW + timedelta(minutes=n),
            council="E06000038",
            age=16,
        )
        for n in range(1500)
    ]
    remembered._HUB_FLAGS.clear()
    for size in range(1, len(members) + 1):
        remembered.remembered_flag(rule, TOKEN, members[:size])
    held = sum(len(kept) for _, kept, _ in remembered._HUB_FLAGS.values())
    assert 0 < held <= remembered._HUB_FLAGS.weight
