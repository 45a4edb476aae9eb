"""Quarantine records keep what a redrive needs, and never outgrow what the broker takes."""

from __future__ import annotations

import hashlib

import pytest

from hub.errors import DecodeError, HubError
from hub.models.timing import EventInFutureError, EventTooOldError
from hub.quarantine import MAX_KEPT_BYTES, REASONS, QuarantineRecord, SourceRef, quarantine

SOURCE = SourceRef(topic="vru.feed.police", partition=1, offset=42)
#: faust's default producer_max_request_size.
PRODUCER_LIMIT = 1_000_000


def test_a_small_input_is_kept_whole() -> None:
    raw, key, headers = b"\xc3\x01junk", b"k", [("vru-seal", b"s" * 200)]
    record = QuarantineRecord.from_bytes(
        quarantine(raw, SOURCE, DecodeError("truncated"), key=key, headers=headers).to_bytes()
    )
    assert (record.original, record.key, record.original_headers) == (raw, key, headers)
    assert (record.original_omitted, record.original_size) == (False, len(raw))
    assert record.original_sha256 == hashlib.sha256(raw).hexdigest()


@pytest.mark.parametrize("size", [MAX_KEPT_BYTES + 1, 900 * 1024, 4 * 1024 * 1024])
def test_a_large_input_is_recorded_without_its_bytes(size: int) -> None:
    raw = b"\xc3\x01" + b"\x00" * (size - 2)
    out = quarantine(raw, SOURCE, DecodeError("bad"), key=b"k", headers=[("vru-seal", b"s")])
    data = out.to_bytes()
    record = QuarantineRecord.from_bytes(data)
    assert len(data) < PRODUCER_LIMIT
    assert (record.original_omitted, record.original, record.key, record.headers) == (
        True, b"", None, ()
    )  # fmt: skip
    assert (record.original_size, record.source, record.reason) == (size, SOURCE, "decode_error")
    assert record.original_sha256 == hashlib.sha256(raw).hexdigest()


def test_a_huge_header_alone_also_drops_the_bytes() -> None:
    out = quarantine(
        b"x", SOURCE, DecodeError("bad"), headers=[("vru-seal", b"s" * MAX_KEPT_BYTES)]
    )
    assert out.original_omitted
    assert len(out.to_bytes()) < PRODUCER_LIMIT


def test_the_largest_kept_input_fits_the_producer_limit() -> None:
    out = quarantine(b"\xff" * MAX_KEPT_BYTES, SOURCE, DecodeError("bad"))
    assert not out.original_omitted
    assert len(out.to_bytes()) < PRODUCER_LIMIT


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (EventInFutureError("x"), "event_in_future"),
        (EventTooOldError("x"), "event_too_old"),
        (HubError("x"), "internal_error"),
    ],
)
def test_timeliness_reasons_are_kept(error: HubError, reason: str) -> None:
    assert reason in REASONS
    assert quarantine(b"x", SOURCE, error).reason == reason


def test_records_written_before_the_size_fields_still_parse() -> None:
    old = (
        b'{"reason":"decode_error","error":"DecodeError","detail":"d","source":{"topic":"t",'
        b'"partition":0,"offset":1},"quarantined_at":"2026-01-01T00:00:00Z","original_b64":"eA=="}'
    )
    record = QuarantineRecord.from_bytes(old)
    assert (record.original, record.original_omitted, record.original_size) == (b"x", False, None)
