"""Attacks on what a worker reads when it (re)starts: the partnerships' alert topics, from which
the sequencer rebuilds its numbering, and the changelogs faust rebuilds the tables from.

A real worker runs genuine flows, stops; an attacker holding no key writes with a plain aiokafka
producer; the worker starts again on the same topics. Each forged record must be refused and
counted, and change nothing: no partnership is told it lost alerts it never lost, no consent
comes back from a replayed or forged table value, no crash loop from ``vru-seq: x``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hub.broker import EmbeddedBroker
from hub.config import Settings
from hub.crypto.tablevalue import value_of
from hub.transport.partitioner import partition_for
from tests.integration.attack import (
    RunningHub,
    alerts_about,
    dated,
    genuine_flow,
    prepared_hub,
    produce_raw,
    wait_for,
)
from tests.integration.changelog import ChangelogRow, changelog_rows
from tests.integration.events import (
    WOKINGHAM_LSOA,
    accepted_ids,
    decisions_of,
    token_for,
)
from tests.integration.kafka import consume, produce, read_until
from tests.unit.consent.builders import consent_body

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
RULE = "disengagement-and-violence"
WITHDRAWN, CONSENTING, LATE = 61, 62, 63  # subjects


@pytest.fixture(scope="module")
def hub(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    running = prepared_hub(broker, tmp_path_factory.mktemp("attacks-at-start"))
    yield running
    if running.proc is not None:
        running.stop()


async def _consent(s: Settings, subject: int, event_type: str, seed: int) -> str:
    message, event_id = dated(
        s,
        event_type,
        "voluntary-sector",
        (subject, seed),
        days_ago=0,  # given now: the events that follow are decided under it
        **consent_body(event_type, f"c-{subject}"),
    )
    await produce(s, s.feed_topic("voluntary-sector"), [message])
    return event_id


async def _changelog(s: Settings, table: str, row: str, count: int) -> list[ChangelogRow]:
    """The values of ``row`` in the table's changelog (plain or packed), once ``count`` are in."""
    topic = s.changelog_topic(table)
    records = await read_until(
        s,
        [topic],
        lambda r: sum(x.key == _key(row) for x in changelog_rows(r)) >= count,
        timeout_s=60,
    )
    return [r for r in changelog_rows(records) if r.key == _key(row)]


def _key(row: str) -> bytes:
    """A table row's key as the worker writes it to the changelog (its raw bytes)."""
    return row.encode()


async def _genuine_history(hub: RunningHub) -> dict[str, Any]:
    """Consent given then withdrawn by one subject, given by another, and Wokingham's alerts."""
    s = hub.settings
    hub.start()
    await _consent(s, WITHDRAWN, "consent.given", 6100)
    given_id = await _consent(s, CONSENTING, "consent.given", 6200)
    await read_until(s, [s.accepted_topic], lambda r: given_id in accepted_ids(r), 60)
    await _consent(s, WITHDRAWN, "consent.withdrawn", 6101)
    await genuine_flow(s, 64, WOKINGHAM_LSOA)
    wokingham = await alerts_about(s, "wokingham", 64, count=2, timeout_s=60)
    withdrawn = await _changelog(s, "subjects", token_for(WITHDRAWN), 2)
    consenting = await _changelog(s, "subjects", token_for(CONSENTING), 1)
    assert hub.stop() == 0, hub.tail()
    return {"wokingham": wokingham, "withdrawn": withdrawn, "consenting": consenting}


async def _forge_alert_topics(s: Settings) -> None:
    """A number 1000 on Wokingham's stream (its signature left as it was, or none at all), and
    a number that is not a number on Bracknell Forest's."""
    stream = await consume(s, [s.alert_topic("wokingham")], until=10**6, timeout_s=2)
    genuine = next(r for r in stream if dict(r.headers).get("vru-seq"))
    renumbered = [(n, b"1000" if n == "vru-seq" else v) for n, v in genuine.headers]
    bare: list[tuple[str, bytes | None]] = [("vru-seq", b"1000"), ("ce_id", b"forged")]
    await produce_raw(
        s,
        s.alert_topic("wokingham"),
        [(b"forged", genuine.value, renumbered, 0), (b"forged", b"", bare, 0)],
    )
    crash = [("ce_specversion", b"1.0"), ("vru-seq", b"x"), ("ce_id", b"x"), ("vru-hub-key", None)]
    odd = [("vru-seq", b"\xff\xfe"), ("vru-seq", b"2"), ("ce_type", b"\x00" * 5000)]
    await produce_raw(
        s,
        s.alert_topic("bracknell-forest"),
        [(b"x", b"x", crash, 0), (b"odd", None, odd, 0)],
    )


async def _forge_changelogs(s: Settings, history: dict[str, Any]) -> None:
    """The withdrawing subject's consent rolled back (its first genuine value appended again),
    another subject's genuine value moved to its row, an unsealed state, a deletion of the
    consenting subject's row, and a seen-events entry for an event not sent yet."""
    withdrawn, consenting = history["withdrawn"], history["consenting"]
    row = _key(token_for(WITHDRAWN))
    partition = withdrawn[0].partition
    unsealed = value_of(consenting[-1].value).value  # a consenting state, without its MAC
    await produce_raw(
        s,
        s.changelog_topic("subjects"),
        [
            (row, withdrawn[0].value, [], partition),  # replayed: stale
            (row, consenting[-1].value, [], partition),  # moved from another row
            (row, unsealed, [], partition),  # no MAC at all
            (_key(token_for(CONSENTING)), None, [], consenting[-1].partition),  # deleted
        ],
    )
    _, late_id = _late(s)
    seen = f"{s.feed_topic('police')}:0:0".encode()
    await produce_raw(
        s,
        s.changelog_topic("seen-events"),
        [(_key(late_id), seen, [], partition_for(token_for(LATE).encode(), s.partitions))],
    )


def _late(s: Settings) -> tuple[Any, str]:
    """An arrest about subject LATE (the same bytes every call: its seal is deterministic)."""
    return dated(s, "police.arrest", "police", (LATE, 6300), days_ago=1)


async def _beats(s: Settings, partnership: str, done: Any) -> list[int]:
    """The last numbers the partnership's heartbeats carried, once ``done(them)`` holds."""

    def last_seqs(records: list[Any]) -> list[int]:
        return [
            int(v)
            for r in records
            if dict(r.headers).get("ce_type") == b"vru.heartbeat"
            for n, v in r.headers
            if n == "vru-last-seq" and v is not None
        ]

    records = await read_until(
        s, [s.alert_topic(partnership)], lambda r: done(last_seqs(r)), timeout_s=30
    )
    return last_seqs(records)


def _reading(records: list[Any], subject: int) -> list[dict[str, Any]]:
    """Reading's decisions of the consent rule that consulted ``subject``'s consent."""
    return [
        d
        for d in decisions_of(records)
        if d["recipient"] == "reading"
        and d["rule_id"] == RULE
        and any(c["consent_id"] == f"c-{subject}" for c in d["consents"])
    ]


async def test_forged_stream_and_table_records_change_nothing_after_a_restart(
    hub: RunningHub,
) -> None:
    s = hub.settings
    history = await _genuine_history(hub)
    assert sorted(a.seq for a in history["wokingham"]) == [1, 2]
    await _forge_alert_topics(s)
    await _forge_changelogs(s, history)

    hub.start()  # reads every forged record while it rebuilds: it must stay up, and refuse them
    wait_for(lambda: hub.refused(s.changelog_topic("subjects")) >= 4, 30, "changelog refused")
    assert hub.refused(s.changelog_topic("subjects"), "stale_value") >= 1
    assert hub.refused(s.changelog_topic("subjects"), "bad_signature") >= 1
    assert hub.refused(s.changelog_topic("subjects"), "malformed_record") >= 2
    assert hub.refused(s.changelog_topic("seen-events")) >= 1

    # The withdrawn consent stays withdrawn; the other subject's consent survived its deletion.
    for subject, seed in ((WITHDRAWN, 6110), (CONSENTING, 6210)):
        disengaged, _ = dated(
            s, "voluntary.engagement", "voluntary-sector", (subject, seed), days_ago=2,
            stage="DISENGAGED",
        )  # fmt: skip
        weapon, _ = dated(s, "police.weapon_possession", "police", (subject, seed + 1), days_ago=1)
        await produce(s, s.feed_topic("voluntary-sector"), [disengaged])
        await produce(s, s.feed_topic("police"), [weapon])
    consented = await alerts_about(s, "reading", CONSENTING, count=1, timeout_s=60)
    assert RULE in {a.body.rule.id for a in consented}
    decided = await read_until(
        s, [s.decisions_topic], lambda r: _reading(r, WITHDRAWN) != [], timeout_s=30
    )
    withdrawn = _reading(decided, WITHDRAWN)
    assert {d["outcome"] for d in withdrawn} == {"deny"}
    assert {c["status"] for d in withdrawn for c in d["consents"]} == {"withdrawn"}
    assert await alerts_about(s, "reading", WITHDRAWN, count=1, timeout_s=2) == []

    # The event whose id was forged into the de-duplication table is accepted, not a duplicate.
    late, late_id = _late(s)
    key = token_for(LATE).encode()
    value, headers = late
    await produce_raw(
        s,
        s.feed_topic("police"),
        [(key, value, headers, partition_for(key, s.partitions))],
    )
    await read_until(s, [s.accepted_topic], lambda r: late_id in accepted_ids(r), 30)
    await _numbering_is_intact(hub)


async def _numbering_is_intact(hub: RunningHub) -> None:
    """Wokingham's next alerts follow its genuine ones; heartbeats say so; both streams beat."""
    s = hub.settings
    await genuine_flow(s, 65, WOKINGHAM_LSOA)
    fresh = await alerts_about(s, "wokingham", 65, count=2, timeout_s=60)
    assert sorted(a.seq for a in fresh) == [3, 4]
    wokingham = await _beats(s, "wokingham", lambda seqs: 4 in seqs)
    assert 4 in wokingham
    assert max(wokingham) == 4  # never 1000 or more
    assert await _beats(s, "bracknell-forest", bool) != []
    assert hub.refused(s.alert_topic("wokingham")) >= 2
    assert hub.refused(s.alert_topic("bracknell-forest")) >= 2
    assert hub.alive(), hub.tail()
    assert "Traceback" not in hub.log.read_text(errors="replace")
