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
