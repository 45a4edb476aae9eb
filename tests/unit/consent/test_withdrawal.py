"""Withdrawal through the real correlator: a flag resting on consent is retracted, later events
are not disclosed, the decisions cite the withdrawal, and replay and ``audit at`` agree."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from hub.alerts import AlertKind, Unnumbered, number_alert, open_alert
from hub.audit import Replayer, subject_at
from hub.crypto import HUB, Keyring, partnership_owner
from hub.crypto.record import parse
from hub.dispatch import alert_revision
from hub.flags import revision
from tests.unit.audit.simulated import Simulator, consent, event, token, world

RULE = "disengagement-and-violence"
WEAPON, DISENGAGED, CLOSED = 0, 3, 4


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Simulator, Keyring, dict[str, Any]]:
    keys = tmp_path_factory.mktemp("keys")
    correlator, registry, agreements = world(keys)
    sim = Simulator(correlator, registry, partitions=2)
    sim.publish(agreements)
    subject = token(4242)
    marks: dict[str, Any] = {"subject": subject}
    sim.send(subject, consent(sim.store, subject, "c-1", sim.at, given=True))
    marks["given_at"] = sim.at
    sim.send(subject, event(sim.store, subject, DISENGAGED, sim.at, 5))  # Reading (seed % 5 == 0)
    sim.send(subject, event(sim.store, subject, WEAPON, sim.at, 10))
    marks["raised"] = len(sim.decisions), len(sim.pending)
    sim.send(subject, consent(sim.store, subject, "c-1", sim.at, given=False))
    marks["withdrawn_at"] = sim.at
    marks["withdrawal"] = sim.accepted[-1]
    marks["retracted"] = len(sim.decisions), len(sim.pending)
    sim.send(subject, event(sim.store, subject, CLOSED, sim.at, 15))
    marks["after"] = len(sim.decisions), len(sim.pending)
    return sim, Keyring.open(keys), marks


def reading(values: list[bytes]) -> list[dict[str, Any]]:
    found = [json.loads(v) for v in values]
    return [r for r in found if r["recipient"] == "reading" and r["rule_id"] == RULE]


def kinds(sim: Simulator, keyring: Keyring, start: int, end: int) -> list[AlertKind]:
    out = []
    for pending in sim.pending[start:end]:
        if pending.partnership_id != "reading":
            continue
        record = number_alert(
            Unnumbered(pending.alert_id.encode(), pending.value, pending.headers),
            1,
            keyring.signing_key(HUB),
        )
        opened = open_alert(
            record,
            "reading",
            keyring.hpke_key(partnership_owner("reading")),
            keyring.verify_keys(HUB),
        )
        if opened.body.flag_id and opened.body.kind in (AlertKind.RAISED, AlertKind.RETRACTED):
            out.append(opened.body.kind)
    return out


def test_with_consent_the_flag_is_raised_at_reading_citing_the_live_consent(run: Any) -> None:
    sim, keyring, marks = run
    decisions, pending = marks["raised"]
    [permit] = [r for r in reading(sim.decisions[:decisions]) if r["outcome"] == "permit"]
    assert permit["consents"] == [
        {
            "consent_id": "c-1",
            "provider": "voluntary-sector",
            "purpose": "early_intervention",
            "status": "active",
            "given_event": permit["consents"][0]["given_event"],
            "ended_event": None,
        }
    ]
    voluntary = [d for d in permit["decisions"] if d["agreement_id"] == "tv-voluntary-consent"]
    assert [d["consent_id"] for d in voluntary] == ["c-1"]
    assert kinds(sim, keyring, 0, pending) == [AlertKind.RAISED]


def sent_revision(permit: dict[str, Any], sim: Simulator) -> str:
    """The alert revision the permit sent: its id must be derived from it."""
    flag_revision = revision(1, "medium", frozenset(permit["events"]))
    visible = [d["event_id"] for d in permit["decisions"] if d["outcome"] == "permit"]
    sent = alert_revision(flag_revision, "reading", visible)
    ids = sim.correlator.dispatcher.id_keys()["reading"]
    assert ids.alert_id(permit["recipient_flag_id"], sent) == permit["alert_id"]
    return sent


def test_withdrawal_retracts_the_flag_and_the_decision_cites_the_withdrawal(run: Any) -> None:
    sim, keyring, marks = run
    start, pending_start = marks["raised"]
    end, pending_end = marks["retracted"]
    [retraction] = reading(sim.decisions[start:end])
    assert retraction["outcome"] == "deny"
    [permit] = [r for r in reading(sim.decisions[:start]) if r["outcome"] == "permit"]
    assert retraction["flag_id"] == permit["flag_id"]
    assert retraction["recipient_flag_id"] == permit["recipient_flag_id"]
    assert retraction["alert_id"] is not None
    assert retraction["alert_id"] != permit["alert_id"]
    [cited] = retraction["consents"]
    assert cited["status"] == "withdrawn"
    (item,) = parse(marks["withdrawal"].value).items
    withdrawal = sim.store.decode(item).record["envelope"]["event_id"]
    assert cited["ended_event"] == withdrawal
    reasons = {r for d in retraction["decisions"] for r in d["reasons"]}
    assert "consent_missing" in reasons
    assert kinds(sim, keyring, pending_start, pending_end) == [AlertKind.RETRACTED]
    ids = sim.correlator.dispatcher.id_keys()["reading"]
    own = permit["recipient_flag_id"]
    closed = ids.closed_id(own, AlertKind.RETRACTED.value, sent_revision(permit, sim))
    assert retraction["alert_id"] == closed


def test_an_event_after_withdrawal_is_not_disclosed(run: Any) -> None:
    sim, _, marks = run
    start, pending_start = marks["retracted"]
    end, pending_end = marks["after"]
    [denied] = reading(sim.decisions[start:end])
    assert denied["outcome"] == "deny"
    assert denied["alert_id"] is None
    voluntary = [
        d
        for d in denied["decisions"]
        if "voluntary" in "".join(c["agreement"] for c in d["clauses"])
    ]
    assert len(voluntary) == 2
    assert all(d["outcome"] == "deny" and d["reasons"] == ["consent_missing"] for d in voluntary)
    assert [c["status"] for c in denied["consents"]] == ["withdrawn"]
    assert [
        p for p in sim.pending[pending_start:pending_end] if p.partnership_id == "reading"
    ] == []


def test_replay_re_derives_the_permit_the_retraction_and_the_denial(run: Any) -> None:
    sim, _, marks = run
    history = sim.history()
    dispatcher = sim.correlator.dispatcher
    replayer = Replayer(
        history, dispatcher.rules, sim.registry, sim.correlator.areas, dispatcher.id_keys()
    )
    ids = [r["decision_id"] for r in reading(sim.decisions)]
    report = replayer.replay(sim.decisions, explain=set(ids))
    assert report.mismatches == []
    assert [e["outcome"] for e in report.explanations] == ["permit", "deny", "deny"]
    assert [e["retraction"] for e in report.explanations] == [False, True, False]
    for explained in report.explanations[1:]:
        [ended] = explained["consents"]
        assert ended["ended_by"] == "consent.withdrawn"
        assert ended["ended_position"]["offset"] == marks["withdrawal"].offset


def test_audit_at_shows_consent_and_agreements_before_during_and_after(run: Any) -> None:
    sim, _, marks = run
    history = sim.history()
    subject = marks["subject"]
    partition = sim.partition_of(subject)
    before = subject_at(history, subject, marks["given_at"] - timedelta(seconds=1), partition)
    during = subject_at(history, subject, marks["given_at"], partition)
    after = subject_at(history, subject, marks["withdrawn_at"], partition)
    assert before["consent"] == []
    assert [(c["consent_id"], c["state"]) for c in during["consent"]] == [("c-1", "active")]
    assert [(c["state"], c["ended_event"] is not None) for c in after["consent"]] == [
        ("withdrawn", True)
    ]
    voluntary = {
        moment: next(a for a in view["agreements"] if a["agreement_id"] == "tv-voluntary-consent")
        for moment, view in (("during", during), ("after", after))
    }
    assert voluntary["during"]["live_consent_for"]["reading"] == "c-1"
    assert voluntary["after"]["live_consent_for"] == {}
    assert {a["agreement_id"] for a in during["agreements"]} >= {
        "tv-police-svd",
        "tv-csc-safeguarding",
    }
    assert subject not in json.dumps([before, during, after])
    assert during["subject"].startswith("sha256:")
