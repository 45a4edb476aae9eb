"""Values ingest and the SNA stream build past a frozen dataclass's ``__init__`` (through the
class's slot descriptors), and the batch record's events sliced from its bytes: each equal to
what the plain construction gives, so the shortcut changes nothing a reader can see."""

from __future__ import annotations

import dataclasses
import pickle
import struct

import pytest

from hub.crypto.batchrecord import encode_batch_record, parse_batch_record
from hub.crypto.signing import SigningKey
from hub.errors import MalformedBatchError
from hub.ingest import SEAL_HEADER, FeedMessage, Outcome, accepted_outcome
from hub.quarantine import SourceRef
from hub.sna.stream import _ENTRY, Mark, Tallied

KEY = SigningKey.from_raw(b"\x05" * 32)


@pytest.mark.parametrize(
    ("event_id", "index"), [("e-1", 0), ("", 4095), ("x" * 40, 17), ("e-2", None)]
)
def test_an_accepted_outcome_is_the_one_its_constructor_builds(
    event_id: str, index: int | None
) -> None:
    built = accepted_outcome(event_id, index)
    plain = Outcome("accepted", "accepted", event_id, (), None, index)
    assert built == plain
    assert hash(built) == hash(plain)
    assert repr(built) == repr(plain)
    for field in dataclasses.fields(Outcome):  # every field set: none added since, left unset
        assert getattr(built, field.name) == getattr(plain, field.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.reason = "changed"  # type: ignore[misc]  # frozen, as the constructor's


def test_marks_and_rows_built_by_their_own_init_are_ordinary_frozen_dataclasses() -> None:
    """:class:`Mark` and :class:`Tallied` set their fields through their slot descriptors:
    every field set, defaults kept, keywords taken, equal and hashed by value, frozen,
    ``replace`` and pickle working as for a generated ``__init__``."""
    assert [f.name for f in dataclasses.fields(Mark)] == ["offset", "item", "size"]
    assert [f.name for f in dataclasses.fields(Tallied)] == [
        "mark",
        "before",
        "outcomes",
        "entries",
    ]
    mark = Mark(2**40, 7, 9)
    assert dataclasses.astuple(mark) == (2**40, 7, 9)
    assert Mark(3, 4) == Mark(item=4, offset=3, size=1)
    assert Mark(3, 4).size == 1
    assert hash(Mark(3, 4)) == hash(Mark(3, 4, 1))
    assert Mark(3, 4) != Mark(3, 4, 2)
    assert dataclasses.replace(mark, item=8) == Mark(2**40, 8, 9)
    digest = bytes(range(16))
    row = Tallied(mark, 0, ("x:no_agreement",), _ENTRY.pack(0, digest))
    assert (row.mark, row.before, row.outcomes) == (mark, 0, ("x:no_agreement",))
    assert Tallied(mark, 0, ()).entries == b""
    assert row == Tallied(
        entries=_ENTRY.pack(0, digest), outcomes=row.outcomes, before=0, mark=mark
    )
    assert Tallied.from_bytes(row.to_bytes()) == row
    assert row.holds(digest)
    assert pickle.loads(pickle.dumps(row)) == row  # noqa: S301  # our own bytes
    assert repr(mark) == "Mark(offset=1099511627776, item=7, size=9)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        mark.offset = 1  # type: ignore[misc]  # frozen
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.before = 1  # type: ignore[misc]  # frozen


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


@pytest.mark.parametrize(
    "outcomes",
    [(), ("c:agreement",), ("x:no_agreement", "c:a\u00e9", "c:" + "z" * 300), ("", "x:")],
)
def test_a_rows_bytes_are_its_documented_layout(outcomes: tuple[str, ...]) -> None:
    """``offset ‖ item ‖ size ‖ before ‖ n`` then each outcome ``u16 length ‖ UTF-8``, then
    the entries: written out here field by field, as the module docstring states it."""
    entries = b"".join(  # each entry names one of the outcomes (none without any)
        struct.pack(">H16s", i % len(outcomes), bytes([i]) * 16)
        for i in range(3 if outcomes else 0)
    )
    before = 2 if outcomes else 0  # entries before the row's last record
    row = Tallied(Mark(2**33, 5, 11), before, outcomes, entries)
    expected = struct.pack(">QIIIH", 2**33, 5, 11, before, len(outcomes))
    for outcome in outcomes:
        expected += struct.pack(">H", len(outcome.encode())) + outcome.encode()
    assert row.to_bytes() == expected + entries
    assert Tallied.from_bytes(row.to_bytes()) == row


def test_a_messages_seal_is_its_first_seal_header() -> None:
    source = SourceRef(topic="feed", partition=0, offset=1)

    def seal_of(headers: tuple[tuple[str, bytes], ...]) -> bytes | None:
        return FeedMessage(b"v", None, headers, source, "police").seal

    assert seal_of(()) is None
    assert seal_of((("vru-source", b"x"), ("VRU-SEAL", b"y"))) is None
    assert seal_of((("vru-source", b"x"), (SEAL_HEADER, b"a"), (SEAL_HEADER, b"b"))) == b"a"
    assert seal_of(((SEAL_HEADER, b""),)) == b""
