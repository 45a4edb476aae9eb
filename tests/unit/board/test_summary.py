"""The board for a period: distinct counts, suppressed, and nothing that names a person or event."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hub.board import Period, Sources, Verification, build_board, read_ledger
from hub.board.rejected import QuarantineFacts, Rejected
from tests.unit.board.builders import EDUCATION, OWNERS, POLICE, START, entry


def sources(values: list[bytes], rejected: list[Rejected] | None = None) -> Sources:
    return Sources(
        ledger=read_ledger(values, OWNERS),
        quarantine=QuarantineFacts(rejected or []),
        agreements=[],
        verification=Verification("not checked", START),
    )


def ledger() -> list[bytes]:
    """Day 0: 6 police events and 2 education events to Reading, one of them re-disclosed
    in a second flag; day 3: one more police event; denials to Oxfordshire."""
    values = [
        entry(n, "reading", [(f"p{n}", *POLICE)], flag=f"flag-{n}", severity="low")
        for n in range(6)
    ]
    values.append(entry(6, "reading", [("p0", *POLICE), ("s0", *EDUCATION)], flag="flag-x"))
    values.append(entry(7, "reading", [("s1", *EDUCATION)], flag="flag-x", severity="high"))
    values.append(entry(8, "reading", [("p9", *POLICE)], day=3, flag="flag-9"))
    values += [entry(20 + n, "oxfordshire", [(f"p{n}", *POLICE)]) for n in range(5)]
    return values


def test_flows_count_each_event_once_per_partnership_and_suppress_small_ones() -> None:
    board = build_board(sources(ledger()), Period(), START)
    assert board.flows.at("police", "reading").text == "7"
    assert board.flows.at("education", "reading").text == "<5"
    assert board.flows.grand_total.text == "8\u201311"
    assert board.totals["disclosures"].text == "8\u201311"
    assert board.denials.at("outside_geography", "count").text == "5"
    assert board.entries.text == "14"


def test_a_period_keeps_only_its_days() -> None:
    later = Period(start=(START + timedelta(days=1)).date())
    board = build_board(sources(ledger()), later, START)
    assert board.flows.at("police", "reading").text == "<5"
    assert board.entries.text == "<5"
    assert build_board(sources(ledger()), Period(end=date(2000, 1, 1)), START).flows.rows == ()


def test_flags_count_once_at_their_highest_severity_on_their_first_day() -> None:
    board = build_board(sources(ledger()), Period(), START)
    assert board.flags.at("repeated-violence", "low").text == "6"
    assert board.flags.at("repeated-violence", "high").text == "<5"
    day = START.date().isoformat()
    assert board.flags_by_day.at(day, "repeated-violence (low)").text == "6"


def test_quarantine_is_counted_by_agency_and_reason() -> None:
    rejected = [Rejected(START, "police", "bad_signature")] * 3 + [
        Rejected(START, "health", "decode_error")
    ] * 6
    board = build_board(sources([], rejected), Period(), START)
    assert board.quarantine is not None
    assert board.quarantine.at("police", "bad_signature").text == "<5"
    assert board.quarantine.at("health", "decode_error").text == "6"
    assert board.totals["quarantined inputs"].text == "7\u201310"


def test_the_board_names_no_event_flag_or_decision() -> None:
    text = json.dumps(build_board(sources(ledger()), Period(), START).to_json())
    for marker in ('"p0"', "p9", "s0", "flag-", "d0000", "a0000"):
        assert marker not in text
