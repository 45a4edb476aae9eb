"""structlog, configured once: JSON off a TTY, console on one, and never a payload.

:func:`redact` is the last line of defence: any event-dict key that can carry personal data
(payloads, identifiers, tokens, pseudonyms, keys) is replaced before rendering. Callers log
ids and hashes only; the redactor makes a slip visible (``"[redacted]"``) instead of a leak.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

REDACTED = "[redacted]"

#: Keys that may never reach a log line with their value.
SENSITIVE_KEYS = frozenset(
    {
        "payload",
        "record",
        "fields",
        "body",
        "value",
        "data",
        "raw",
        "subject_token",
        "token",
        "linkage_token",
        "pseudonym",
        "identifiers",
        "name",
        "given_name",
        "family_name",
        "date_of_birth",
        "dob",
        "postcode",
        "nhs_number",
        "national_id",
        "key",
        "secret",
        "private_key",
        "password",
        "sasl_plain_password",
        "key_password",
        "credentials",
        "signature",
        "plaintext",
    }
)


#: Third-party loggers that print record keys and values (pseudonyms, payloads) at DEBUG:
#: aiokafka's producer ("Sending (key=... value=...)") and fetcher, faust's and mode's
#: consumer and agents. They are never below INFO, whatever the hub's level: the hub's own
#: DEBUG lines (one per event, ids only) stay available.
THIRD_PARTY_LOGGERS = ("aiokafka", "faust", "mode", "kafka")
THIRD_PARTY_FLOOR = logging.INFO
#: Loggers that print an exception's traceback when a connection, fetch or send fails:
#: aiokafka's modules (``log.exception``) and asyncio's, which reports an aiokafka future whose
#: exception nobody retrieved (a refused TLS handshake at start-up leaves one: "Future
#: exception was never retrieved"). The hub names the cause itself (``hub.transport.failure``);
#: above DEBUG these lines keep their message and the exception's type and text, not the
#: traceback (:class:`WithoutTraceback`).
TRACEBACK_LOGGERS = (
    "asyncio",
    "aiokafka.conn",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.sender",
)


class WithoutTraceback(logging.Filter):
    """Fold a record's exception into its message as ``Type: text`` and drop the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {error}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


_WITHOUT_TRACEBACK = WithoutTraceback()


def redact(_logger: object, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: blank every sensitive key, at any nesting depth of dicts."""
    return _redact_mapping(event_dict)


def _redact_mapping(mapping: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(mapping):
        if key.lower() in SENSITIVE_KEYS:
            mapping[key] = REDACTED
        elif isinstance(mapping[key], dict):
            mapping[key] = _redact_mapping(dict(mapping[key]))
    return mapping


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is when a line is written, not when logging was set up.

    A test runner (or a CLI runner in a test) swaps ``sys.stderr`` and closes its stand-in
    afterwards; a logger bound to the stand-in would then fail every later line.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


CACHE_LOGGERS = True
"""Whether :func:`configure_logging` has structlog cache each logger on its first use (a
process configures once). The test suite turns it off: a logger cached under one
configuration keeps its processors when a later test configures again, and structlog's
``capture_logs`` then cannot see it."""


def configure_logging(
    fmt: Literal["auto", "json", "console"] = "auto", level: str = "INFO"
) -> None:
    """Configure structlog and the stdlib root logger (faust and aiokafka log through it)."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]  # it only writes and flushes
        cache_logger_on_first_use=CACHE_LOGGERS,
    )
    logging.basicConfig(level=max(numeric, logging.WARNING), stream=sys.stderr, force=True)
    cap_third_party_loggers(max(numeric, logging.WARNING))
    fold_library_tracebacks(numeric)


def fold_library_tracebacks(level: int) -> None:
    """Above DEBUG, aiokafka's exception lines (:data:`TRACEBACK_LOGGERS`) keep their message
    and not their traceback; at DEBUG they print it for whoever debugs."""
    for name in TRACEBACK_LOGGERS:
        logger = logging.getLogger(name)
        if level <= logging.DEBUG:
            logger.removeFilter(_WITHOUT_TRACEBACK)
        else:
            logger.addFilter(_WITHOUT_TRACEBACK)  # once: a filter already there is not added again


def third_party_level(level: str | int) -> int:
    """The level for :data:`THIRD_PARTY_LOGGERS` when the hub logs at ``level``: never DEBUG."""
    numeric = level if isinstance(level, int) else logging.getLevelNamesMapping()[level.upper()]
    return max(numeric, THIRD_PARTY_FLOOR)


def cap_third_party_loggers(level: str | int) -> None:
    """Hold :data:`THIRD_PARTY_LOGGERS` at :func:`third_party_level` of ``level``.

    The commands log the libraries at WARNING, like the root logger. The faust worker sets
    the root logger to the hub's level and these loggers to ``third_party_level`` of it
    (``agents.app.worker_options``); its logging setup leaves other named loggers alone.
    """
    for name in THIRD_PARTY_LOGGERS:
        logging.getLogger(name).setLevel(third_party_level(level))


def third_party_logging_config(level: str | int) -> dict[str, object]:
    """A ``logging_config`` that ``faust.Worker`` merges into its own: the libraries capped."""
    named = logging.getLevelName(third_party_level(level))
    return {
        "version": 1,
        "merge": True,
        "loggers": {name: {"level": named} for name in THIRD_PARTY_LOGGERS},
    }
