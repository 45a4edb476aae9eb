"""``written_question`` reads exactly what one anchored pattern over the head reads.

The reader matches the decision id and time, then the fields up to the decisions (remembered
per their bytes). The reference below is the single pattern it replaced: on the small
history's entries, and on each of them with bytes of the head replaced by quotes, commas,
brackets, digits, a backslash, a bad UTF-8 byte or a second ``,"decisions":[``, both read the
same question, or both read none.
"""

from __future__ import annotations

import random
import re

import pytest

from hub.audit.question import written_question
from tests.unit.audit.simulated import simulated

_TEXT = rb'"([^"\\]*)"'
_REFERENCE = re.compile(
    rb'\{"decision_id":' + _TEXT + rb',"decided_at":' + _TEXT + rb',"recipient":' + _TEXT
    + rb',"flag_id":"[^"\\]*","rule_id":' + _TEXT
    + rb',"rule_version":-?[0-9]+,"policy_sequence":-?[0-9]+,"outcome":"[^"\\]*"'
    + rb',"events":\[((?:"[^"\\]*")?(?:,"[^"\\]*")*)\],"inputs_digest":"[^"\\]*"'
    + rb',"decisions":\['
)  # fmt: skip
_CHANGES = (b'"', b",", b"[", b"]", b"{", b"}", b":", b"7", b"-", b"\\", b"\xff", b"", b'",')


def _reference(value: bytes) -> tuple[str, str, str, tuple[str, ...], str] | None:
    """The head's decision id, recipient, rule, events and time, by the single pattern."""
    head = _REFERENCE.match(value)
    if head is None:
        return None
    try:
        decision_id, at, recipient, rule_id, events = [g.decode() for g in head.groups()]
    except UnicodeDecodeError:
        return None
    return decision_id, recipient, rule_id, tuple(events[1:-1].split('","')) if events else (), at


@pytest.fixture(scope="module")
def entries(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    sim = simulated(tmp_path_factory.mktemp("keys"), 300)
    return sim.decisions


def test_the_head_is_read_as_the_single_pattern_reads_it(entries: list[bytes]) -> None:
    rnd = random.Random(17)
    changed = list(entries)
    for value in entries:
        for _ in range(12):
            at = rnd.randrange(min(len(value), 500))
            change = rnd.choice((*_CHANGES, b',"decisions":['))
            changed.append(value[:at] + change + value[at + 1 :])
    read = 0
    for value in changed:
        found = written_question(value)
        expected = _reference(value)
        # the changes are in the head, far from the position and consent read at the end
        assert (found is None) == (expected is None)
        if found is None or expected is None:
            continue
        question, at = found
        got = (question.decision_id, question.recipient, question.rule_id, question.events, at)
        assert got == expected
        read += 1
    assert read >= len(entries)  # every entry as written, and some changed ones, are read
