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

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING

from hub.lazyexports import lazy_exports

if TYPE_CHECKING:  # the names as the type checker sees them; at run time, __getattr__ below
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

#: Where each public name is defined. Nothing is imported with the package: ``hub audit verify``,
#: which needs only the keys, loads no webhook client (aiohttp)
#: (``tests/unit/foundation/test_lazy_packages.py``).
_DEFINED_IN = {
    "Heartbeat": "hub.alerts",
    "OpenedAlert": "hub.alerts",
    "ForwardConfig": "hub.partnership.forward",
    "ForwardState": "hub.partnership.forward",
    "ForwardStats": "hub.partnership.forward",
    "forward": "hub.partnership.forward",
    "PartnershipKeys": "hub.partnership.keys",
    "load_hpke_keys": "hub.partnership.keys",
    "load_hub_keys": "hub.partnership.keys",
    "AlertReader": "hub.partnership.reader",
    "ReaderStats": "hub.partnership.reader",
    "Rejected": "hub.partnership.reader",
    "StreamItem": "hub.partnership.reader",
    "Positioned": "hub.partnership.source",
    "ReadOptions": "hub.partnership.source",
    "read_records": "hub.partnership.source",
    "Delivered": "hub.partnership.tracker",
    "Duplicate": "hub.partnership.tracker",
    "Gap": "hub.partnership.tracker",
    "Outcome": "hub.partnership.tracker",
    "StreamTracker": "hub.partnership.tracker",
    "TrackerState": "hub.partnership.tracker",
    "Delivery": "hub.partnership.webhook",
    "RetryPolicy": "hub.partnership.webhook",
    "WebhookSender": "hub.partnership.webhook",
    "sign_body": "hub.partnership.webhook",
}


if not TYPE_CHECKING:  # hidden from mypy, which would otherwise take any name as defined
    __getattr__, __dir__ = lazy_exports(__name__, _DEFINED_IN, __all__)


class _Package(types.ModuleType):
    """This package, whose ``forward`` stays the function when its module is imported.

    Importing ``hub.partnership.forward`` sets the package's attribute ``forward`` to that
    module. Imported with the package, the function replaced it at once; imported on demand,
    the module would stay, and ``from hub.partnership import forward`` would give the module.
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name == "forward" and isinstance(value, types.ModuleType):
            return  # the submodule stays in sys.modules; the name is the function's
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
