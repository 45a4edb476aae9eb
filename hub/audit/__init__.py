"""The tamper-evident decision ledger: entries, signed tree heads, verification.

::

    opened = open_decisions(decisions_topic, verifier, topic)   # hub-signed records only
    ledger = Ledger()
    for entry in opened.entries:            # in offset order
        ledger.append(entry)                # de-duplicates by decision id (first occurrence)
    heads = ledger.heads_since(last_head, hub_signing_key, now)   # the ledger agent publishes these
    verified = verify_topics(decisions_topic, heads_topic, hub_keys, topic)  # `hub audit verify`
    verified.ok, verified.forged_heads, verified.uncovered   # what is there but not the hub's

    history = History(store, agreements_topic)        # then history.add(StreamRecord(...))
    report = Replayer(history, rules, registry, areas).replay(decisions_topic)  # `hub audit replay`
    view = subject_at(history, token, at, partition)  # `hub audit at`

Pure domain logic: no I/O, no faust. See ``docs/audit.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.lazyexports import lazy_exports

if TYPE_CHECKING:  # the names as the type checker sees them; at run time, __getattr__ below
    from hub.audit.at import subject_at
    from hub.audit.entries import differences
    from hub.audit.entry import Entry, canonical_json, entry_of
    from hub.audit.head import (
        GENESIS,
        HEAD_DOMAIN,
        HEAD_FORMAT,
        Checkpoint,
        TreeHead,
        decode_head,
        sign_head,
    )
    from hub.audit.history import History, StreamRecord
    from hub.audit.ledger import MAX_LEAVES_PER_HEAD, Appended, Ledger
    from hub.audit.mismatch import Mismatch
    from hub.audit.question import Question, question_of
    from hub.audit.rederive import Derived, Rederiver, UnreplayableError
    from hub.audit.replay import Replayer
    from hub.audit.report import ReplayReport, Window
    from hub.audit.sealed import DECISIONS_KINDS, OpenedDecisions, Uncovered, open_decisions
    from hub.audit.tally import Tally
    from hub.audit.verify import (
        ForgedHead,
        HeadChain,
        Verified,
        verify_heads,
        verify_ledger,
        verify_topics,
    )
    from hub.models.accepted import Located

__all__ = [
    "DECISIONS_KINDS",
    "GENESIS",
    "HEAD_DOMAIN",
    "HEAD_FORMAT",
    "MAX_LEAVES_PER_HEAD",
    "Appended",
    "Checkpoint",
    "Derived",
    "Entry",
    "ForgedHead",
    "HeadChain",
    "History",
    "Ledger",
    "Located",
    "Mismatch",
    "OpenedDecisions",
    "Question",
    "Rederiver",
    "ReplayReport",
    "Replayer",
    "StreamRecord",
    "Tally",
    "TreeHead",
    "Uncovered",
    "UnreplayableError",
    "Verified",
    "Window",
    "canonical_json",
    "decode_head",
    "differences",
    "entry_of",
    "open_decisions",
    "question_of",
    "sign_head",
    "subject_at",
    "verify_heads",
    "verify_ledger",
    "verify_topics",
]

#: Where each public name is defined. Nothing is imported with the package: a worker appending to
#: the ledger loads no replay, history or report (``tests/unit/foundation/test_lazy_packages.py``).
_DEFINED_IN = {
    "subject_at": "hub.audit.at",
    "differences": "hub.audit.entries",
    "Entry": "hub.audit.entry",
    "canonical_json": "hub.audit.entry",
    "entry_of": "hub.audit.entry",
    "GENESIS": "hub.audit.head",
    "HEAD_DOMAIN": "hub.audit.head",
    "HEAD_FORMAT": "hub.audit.head",
    "Checkpoint": "hub.audit.head",
    "TreeHead": "hub.audit.head",
    "decode_head": "hub.audit.head",
    "sign_head": "hub.audit.head",
    "History": "hub.audit.history",
    "StreamRecord": "hub.audit.history",
    "MAX_LEAVES_PER_HEAD": "hub.audit.ledger",
    "Appended": "hub.audit.ledger",
    "Ledger": "hub.audit.ledger",
    "Mismatch": "hub.audit.mismatch",
    "Question": "hub.audit.question",
    "question_of": "hub.audit.question",
    "Derived": "hub.audit.rederive",
    "Rederiver": "hub.audit.rederive",
    "UnreplayableError": "hub.audit.rederive",
    "Replayer": "hub.audit.replay",
    "ReplayReport": "hub.audit.report",
    "Window": "hub.audit.report",
    "DECISIONS_KINDS": "hub.audit.sealed",
    "OpenedDecisions": "hub.audit.sealed",
    "Uncovered": "hub.audit.sealed",
    "open_decisions": "hub.audit.sealed",
    "Tally": "hub.audit.tally",
    "ForgedHead": "hub.audit.verify",
    "HeadChain": "hub.audit.verify",
    "Verified": "hub.audit.verify",
    "verify_heads": "hub.audit.verify",
    "verify_ledger": "hub.audit.verify",
    "verify_topics": "hub.audit.verify",
    "Located": "hub.models.accepted",
}


if not TYPE_CHECKING:  # hidden from mypy, which would otherwise take any name as defined
    __getattr__, __dir__ = lazy_exports(__name__, _DEFINED_IN, __all__)
