"""The partnership SDK: read, verify, decrypt and de-duplicate a partnership's alert stream.

* :class:`StreamTracker` and its outcomes :class:`Delivered`, :class:`Duplicate`, :class:`Gap`,
  with a persistable :class:`TrackerState` (``tracker``; pure).
* :class:`PartnershipKeys`, :func:`load_hpke_keys`, :func:`load_hub_keys`: the keys a reader
  holds (``keys``).
* :class:`AlertReader`: the stream from Kafka as :class:`OpenedAlert`, :class:`Heartbeat`,
  :class:`Gap` and :class:`Rejected` items (``reader``, over ``source``).
* :func:`forward`: a webhook forwarder for systems that cannot read Kafka (``forward``,
  ``webhook``).

See ``docs/alerts.md``.
"""

from hub.alerts import Heartbeat, OpenedAlert
from hub.partnership.forward import ForwardConfig, ForwardState, ForwardStats, forward
from hub.partnership.keys import PartnershipKeys, load_hpke_keys, load_hub_keys
from hub.partnership.reader import AlertReader, ReaderStats, Rejected, StreamItem
from hub.partnership.source import Positioned, ReadOptions, read_records
from hub.partnership.tracker import (
    Delivered,
    Duplicate,
    Gap,
    Outcome,
    StreamTracker,
    TrackerState,
)
from hub.partnership.webhook import Delivery, RetryPolicy, WebhookSender, sign_body

__all__ = [
    "AlertReader",
    "Delivered",
    "Delivery",
    "Duplicate",
    "ForwardConfig",
    "ForwardState",
    "ForwardStats",
    "Gap",
    "Heartbeat",
    "OpenedAlert",
    "Outcome",
    "PartnershipKeys",
    "Positioned",
    "ReadOptions",
    "ReaderStats",
    "Rejected",
    "RetryPolicy",
    "StreamItem",
    "StreamTracker",
    "TrackerState",
    "WebhookSender",
    "forward",
    "load_hpke_keys",
    "load_hub_keys",
    "read_records",
    "sign_body",
]
