from __future__ import annotations

import logging

import pytest
import structlog
from structlog.testing import capture_logs

from agents.app import worker_options
from hub.config import Settings
from hub.log import (
    REDACTED,
    SENSITIVE_KEYS,
    THIRD_PARTY_LOGGERS,
    configure_logging,
    redact,
    third_party_level,
)


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
    root = logging.getLogger()
    for logger in [root, *(logging.getLogger(n) for n in THIRD_PARTY_LOGGERS)]:  # restored after
        monkeypatch.setattr(logger, "level", logger.level)
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    # Only the levels are under test: structlog and the root handlers stay as they are.
    monkeypatch.setattr(structlog, "configure", lambda **_: None)
    monkeypatch.setattr(logging, "basicConfig", lambda **_: None)
    producer = logging.getLogger("aiokafka.producer.producer")

    configure_logging("json", "DEBUG")  # a command: the libraries at WARNING, as the root
    assert not producer.isEnabledFor(logging.INFO)
    assert producer.isEnabledFor(logging.WARNING)

    # The worker: faust.Worker sets the root logger to the hub's level and merges this config
    # (mode.utils.logging.setup_logging, whose dictConfig would close the test's handlers).
    config = worker_options(Settings(log_level="DEBUG"))["logging_config"]
    assert config["merge"] is True
    assert config["loggers"] == {name: {"level": "INFO"} for name in THIRD_PARTY_LOGGERS}
    assert third_party_level("DEBUG") == logging.INFO  # rebalances and retries stay visible
    assert third_party_level("WARNING") == logging.WARNING  # a stricter hub level holds too


class ConnectionClosedError(Exception):
    """Stands in for aiokafka's connection error (only hub/transport imports aiokafka)."""


@pytest.mark.parametrize("logger", ["aiokafka.conn", "asyncio"])
@pytest.mark.parametrize(("level", "traceback"), [("INFO", False), ("DEBUG", True)])
def test_library_exception_lines_name_the_error_without_a_traceback_above_debug(
    logger: str, level: str, traceback: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json", level)
    try:
        _closed()
    except ConnectionClosedError:
        logging.getLogger(logger).exception("Future exception was never retrieved")
    text = capsys.readouterr().err
    assert "Future exception was never retrieved" in text
    assert ("Traceback" in text) is traceback
    if not traceback:
        assert "ConnectionClosedError: Connection at 127.0.0.1:9 closed" in text
    configure_logging("json", "INFO")


def _closed() -> None:
    raise ConnectionClosedError("Connection at 127.0.0.1:9 closed")


def test_a_logger_used_before_logging_is_configured_again_is_still_captured() -> None:
    """Commands run in process configure logging again; a logger used in between must still
    reach a later test's ``capture_logs`` (the suite turns structlog's caching off:
    ``hub.log.CACHE_LOGGERS``). With caching on it is lost, which failed an unrelated test
    depending on the order xdist ran them in."""
    log = structlog.get_logger("tests.reconfigured")
    configure_logging("json", "INFO")
    log.info("first_use")
    configure_logging("json", "INFO")
    with capture_logs() as logs:
        log.warning("seen", n=1)
    configure_logging("json", "INFO")
    assert [(line["event"], line["n"]) for line in logs] == [("seen", 1)]
