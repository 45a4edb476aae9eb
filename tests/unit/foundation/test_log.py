from __future__ import annotations

import structlog
from structlog.testing import capture_logs

from hub.log import REDACTED, SENSITIVE_KEYS, redact


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
