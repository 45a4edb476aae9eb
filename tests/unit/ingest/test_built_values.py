"""Values ingest and the SNA stream build past a frozen dataclass's ``__init__`` (through the
class's slot descriptors), and the batch record's events sliced from its bytes: each equal to
what the plain construction gives, so the shortcut changes nothing a reader can see."""

from __future__ import annotations

import dataclasses

import pytest

from hub.crypto.batchrecord import encode_batch_record, parse_batch_record
from hub.crypto.signing import SigningKey
from hub.errors import MalformedBatchError
from hub.ingest import Outcome, accepted_outcome
from hub.sna.stream import _ENTRY, Mark, Tallied, _first_row

KEY = SigningKey.from_raw(b"\x05" * 32)


@pytest.mark.parametrize(("event_id", "index"), [("e-1", 0), ("", 4095), ("x" * 40, 17)])
def test_an_accepted_outcome_is_the_one_its_constructor_builds(event_id: str, index: int) -> None:
    built = accepted_outcome(event_id, index)
    plain = Outcome("accepted", "accepted", event_id, (), None, index)
    assert built == plain
    assert hash(built) == hash(plain)
    assert repr(built) == repr(plain)
    for field in dataclasses.fields(Outcome):  # every field set: none added since, left unset
        assert getattr(built, field.name) == getattr(plain, field.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.reason = "changed"  # type: ignore[misc]  # frozen, as the constructor's


def test_a_new_rows_value_is_the_one_its_constructor_builds() -> None:
    fields = {f.name for f in dataclasses.fields(Tallied)}
    assert fields == {"mark", "before", "outcomes", "entries"}  # every field set
    for mark, outcome, digest in (
        (Mark(0, 0), "c:agreement", b"\x00" * 16),
        (Mark(2**40, 7, 9), "x:no_agreement", bytes(range(16))),
    ):
        built = _first_row(mark, outcome, digest)
        plain = Tallied(mark, 0, (outcome,), _ENTRY.pack(0, digest))
        assert built == plain
        assert built.to_bytes() == plain.to_bytes()
        assert Tallied.from_bytes(built.to_bytes()) == plain
        assert built.holds(digest)


def test_a_batch_records_events_are_the_same_from_any_bytes_like_input() -> None:
    events = [b"\xc3\x01" + bytes([i]) * (i * 7 + 3) for i in range(9)]
    data = encode_batch_record(events, KEY, "police")
    for given in (data, bytearray(data), memoryview(data)):
        record = parse_batch_record(given)  # type: ignore[arg-type]  # it takes any bytes-like
        assert record.events == tuple(events)
        assert all(type(event) is bytes for event in record.events)
        assert record.to_bytes() == data


def test_a_truncated_event_is_refused_at_the_same_offset_from_any_input() -> None:
    data = encode_batch_record([b"\xc3\x01abcdef", b"\xc3\x01ghij"], KEY, "police")
    cut = data[:-70]  # inside the second event
    offsets = set()
    for given in (cut, bytearray(cut), memoryview(cut)):
        with pytest.raises(MalformedBatchError) as raised:
            parse_batch_record(given)  # type: ignore[arg-type]  # as above
        offsets.add(str(raised.value))
    assert len(offsets) == 1
