from __future__ import annotations

import logging

import pytest
import structlog
from structlog.testing import capture_logs

from hub.log import REDACTED, SENSITIVE_KEYS, THIRD_PARTY_LOGGERS, configure_logging, redact


def test_redactor_blanks_every_sensitive_key_at_any_depth() -> None:
    event = dict.fromkeys(SENSITIVE_KEYS, "secret-value") | {
        "event_id": "e1",
        "nested": {"postcode": "RG1 1AA", "count": 3},
    }
    out = redact(None, "info", dict(event))
    assert all(out[k] == REDACTED for k in SENSITIVE_KEYS)
    assert out["event_id"] == "e1"
    assert out["nested"] == {"postcode": REDACTED, "count": 3}


def test_a_payload_logged_by_mistake_never_reaches_the_output() -> None:
    with capture_logs(processors=[redact]) as logs:
        structlog.get_logger().info("event_processed", payload=b"\x00raw", subject_token="lt1:abc")
    assert logs[0]["payload"] == REDACTED
    assert logs[0]["subject_token"] == REDACTED


def test_third_party_loggers_never_print_at_debug_even_when_the_hub_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiokafka logs ``Sending (key=... value=...)`` at DEBUG: pseudonyms and payloads."""
    for name in THIRD_PARTY_LOGGERS:  # restored after the test
        monkeypatch.setattr(logging.getLogger(name), "level", logging.getLogger(name).level)
    # Only the third-party levels are under test: structlog and the root logger stay as they are.
    monkeypatch.setattr(structlog, "configure", lambda **_: None)
    monkeypatch.setattr(logging, "basicConfig", lambda **_: None)
    producer = logging.getLogger("aiokafka.producer.producer")

    configure_logging("json", "DEBUG")
    assert not producer.isEnabledFor(logging.DEBUG)
    assert producer.isEnabledFor(logging.INFO)
    assert not logging.getLogger("faust.transport.consumer").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("mode.services").isEnabledFor(logging.DEBUG)
    configure_logging("json", "WARNING")
    assert not producer.isEnabledFor(logging.INFO)  # a stricter hub level holds too
