"""The hub's Prometheus metrics. Labels carry ids of agencies, partnerships, rules and reasons,
never a personal value (no tokens, pseudonyms, event ids or field values).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "vru_ingest_events_total",
    "Feed messages by agency and outcome (accepted, or the quarantine reason).",
    ["agency", "outcome"],
    registry=REGISTRY,
)
ALERTS = Counter(
    "vru_alerts_sequenced_total",
    "Alerts numbered and sent, by partnership.",
    ["partnership"],
    registry=REGISTRY,
)
ALERT_DUPLICATES = Counter(
    "vru_alerts_duplicate_dropped_total",
    "Alerts not sent again because their id was already on the partnership's stream.",
    ["partnership"],
    registry=REGISTRY,
)
DECISIONS = Counter(
    "vru_decisions_total",
    "Disclosure decisions by partnership and outcome.",
    ["partnership", "outcome"],
    registry=REGISTRY,
)


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Expose the metrics over HTTP (``/metrics``); port 0 means off."""
    if port:
        start_http_server(port, addr=host, registry=REGISTRY)
