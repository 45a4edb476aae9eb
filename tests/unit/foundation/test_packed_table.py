"""A packed table changelog, written and read back by the worker's own faust table.

:meth:`VerifiedTable.put_rows` stores a record's rows and hands faust's changelog producer one
packed record per table (``hub.crypto.packedrows``); recovery (:meth:`apply_changelog_batch`)
expands each pack and checks every row as if it had come alone. The changelog producer is the
one thing replaced here (these tests have no broker; the integration test
``tests/integration/test_packed_changelog.py`` runs the same path on one): what it is handed is
read back into a fresh table, as faust's recovery reads the topic.

Tamper probes (each refused, counted by reason, the rest of the changelog applied): a pack that
does not parse, a row moved to another row's key inside a pack, a stale row inside a pack, a
pack moved to another partition, a plain row record forged beside genuine packs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from faust.types import TP
from structlog.testing import capture_logs

from agents.app import bare_app
from agents.tables import VerifiedTable, verified_table
from hub.config import Settings
from hub.crypto import HmacKey
from hub.crypto.packedrows import encode_rows, is_pack_key, pack_key, parse_rows
from hub.crypto.tablevalue import Row, seal_value, value_of
from hub.crypto.trust import RecordVerifier, TrustedKeys, Window

KEY = HmacKey(b"\x61" * 32)
TABLE = "subjects"
TOPIC = f"pack-test-{TABLE}-changelog"
PARTITION = 2


@dataclass(frozen=True)
class Message:
    """A changelog record as faust's recovery hands it to a table."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


@dataclass(frozen=True)
class Event:
    key: bytes | None
    value: bytes | None
    message: Message


@pytest.fixture
async def app() -> Any:
    """The worker's faust app, made inside the test's event loop (faust takes the running one)."""
    return bare_app(Settings(broker_url="kafka://127.0.0.1:9", app_id="pack-test"))


def table_of(app: Any, name: str = TABLE) -> VerifiedTable:
    verifier = RecordVerifier(TrustedKeys(internal={KEY.key_id: (KEY, Window())}))
    return verified_table(app, name, verifier, 4, packed=True)


def sealed(row: str, version: int, value: bytes, partition: int = PARTITION) -> tuple[bytes, bytes]:
    key = row.encode()
    return key, seal_value(KEY, Row(TABLE, partition, key), version, value)


def capture(table: VerifiedTable) -> list[tuple[int, bytes, bytes]]:
    """What the table hands faust's changelog producer: (partition, key, value) per record."""
    sent: list[tuple[int, bytes, bytes]] = []
    table.send_changelog = lambda p, k, v, *_: sent.append((p, k, v))  # type: ignore[method-assign,assignment,return-value]
    return sent


def recover(table: VerifiedTable, records: list[tuple[int, bytes | None, bytes | None]]) -> None:
    """Read ``records`` into ``table`` as faust's recovery does: in order, at offsets 0, 1, ..."""
    events = [
        Event(k, v, Message(TOPIC, p, offset, k, v)) for offset, (p, k, v) in enumerate(records)
    ]
    table.apply_changelog_batch(events)  # type: ignore[arg-type]


def held(table: VerifiedTable) -> dict[bytes, bytes]:
    return {k: value_of(v).value for k, v in table.data.items()}


ROWS = [sealed(f"lt1:{n:016x}:" + "a" * 52, 7, b"state-%d" % n) for n in range(40)]


async def test_a_record_of_rows_is_one_changelog_record_and_recovers_every_row(app: Any) -> None:
    writer = table_of(app)
    sent = capture(writer)
    writer.put_rows(PARTITION, ROWS, origin=7)
    assert [(p, k) for p, k, _ in sent] == [(PARTITION, pack_key(7, 0, (row for row, _ in ROWS)))]
    assert parse_rows(sent[0][2]) == ROWS
    assert dict(writer.data.items()) == dict(ROWS)  # stored per row, as before

    reader = table_of(bare_app(Settings(broker_url="kafka://127.0.0.1:9", app_id="pack-b")))
    with capture_logs() as logs:
        recover(reader, list(sent))  # type: ignore[arg-type]
    assert dict(reader.data.items()) == dict(ROWS)
    assert not [line for line in logs if line["event"] == "record_refused"]


async def test_one_row_is_sent_plain_and_an_unpacked_table_sends_a_record_a_row(app: Any) -> None:
    packed = table_of(app)
    sent = capture(packed)
    packed.put_rows(PARTITION, ROWS[:1], origin=3)
    assert sent == [(PARTITION, *ROWS[0])]
    plain = table_of(app, "sna-counts")
    plain.packed = False
    sent = capture(plain)
    plain.put_rows(PARTITION, ROWS[:3], origin=3)
    assert sent == [(PARTITION, *row) for row in ROWS[:3]]


async def test_a_row_key_taken_for_a_pack_is_refused_before_anything_is_stored(app: Any) -> None:
    table = table_of(app)
    sent = capture(table)
    with pytest.raises(ValueError, match="row key"):
        table.put_rows(PARTITION, [ROWS[0], (b"\x00pack", b"v")], origin=1)
    assert sent == []
    assert len(table.data) == 0


async def test_forged_and_stale_rows_in_packs_are_refused_alone(app: Any) -> None:
    table = table_of(app)
    a, b, c = ROWS[:3]
    newer_a = sealed(a[0].decode(), 9, b"newer")
    records: list[tuple[int, bytes | None, bytes | None]] = [
        (PARTITION, pack_key(9, 0, ()), encode_rows([newer_a, b])),
        # a's older value (stale), b's value moved to c's row, and c's genuine value
        (PARTITION, pack_key(10, 0, ()), encode_rows([a, (c[0], b[1]), c])),
        (PARTITION, pack_key(11, 0, ()), b"VRP1\x00\x00\x00\x09 not a pack"),  # malformed: whole
        (PARTITION + 1, pack_key(12, 0, ()), encode_rows([b, c])),  # moved to another partition
        (PARTITION, c[0], b[1]),  # a plain forged row
        (PARTITION, pack_key(13, 0, ()), None),  # a deletion of a pack
    ]
    with capture_logs() as logs:
        recover(table, records)
    assert held(table) == {a[0]: b"newer", b[0]: b"state-1", c[0]: b"state-2"}
    reasons = [line["reason"] for line in logs if line["event"] == "record_refused"]
    assert sorted(reasons) == sorted(
        ["stale_value", "bad_signature", "malformed_record"]
        + ["bad_signature"] * 2  # both rows of the moved pack
        + ["bad_signature", "malformed_record"]
    )
    offsets = sorted(line["offset"] for line in logs if line["event"] == "record_refused")
    assert offsets == [1, 1, 2, 3, 3, 4, 5]  # each refusal names its pack's position


async def test_plain_row_records_of_before_packing_still_recover(app: Any) -> None:
    table = table_of(app)
    recover(table, [(PARTITION, key, value) for key, value in ROWS[:5]])
    assert dict(table.data.items()) == dict(ROWS[:5])
    assert not any(is_pack_key(k) for k in table.data)
