"""The live path, in process, with a clock the test controls: what a backtest must agree with.

As ``agents/ingest.py`` and ``agents/correlate.py`` take records (and as ``bench/bench_domain``
runs them): each feed message through :class:`hub.ingest.Ingest` with the clock at the
event's ``recorded_at``, the accepted record opened by its MAC for its partition, the
subject state kept as sealed table values, the moment from a :class:`hub.policy.PolicyClock`
with every shipped agreement published and switched to, and a clock tick re-deciding the
flagged subjects at each midnight. Alerts are opened with the partnerships' own keys.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from hub.agency import FeedMessage as SealedMessage
from hub.alerts import AlertBody
from hub.backtest.period import month_of
from hub.config import Settings
from hub.crypto import Keyring, alert_info, partnership_owner
from hub.crypto.record import Kind, Place
from hub.crypto.tablevalue import Row, seal_value, value_of
from hub.crypto.trust import RecordVerifier, TrustedKeys
from hub.dispatch import Step, SubjectState
from hub.dsa import encode_agreement_message
from hub.dsa.loader import load_directory
from hub.ingest import FeedMessage, Ingest
from hub.policy import Moments, PolicyClock, Switch
from hub.quarantine import SourceRef
from hub.runtime import load_correlator, load_ingest_context

Counts = Counter[tuple[str, str, str, str]]
"""(rule, partnership, month, alert kind) -> alerts."""


@dataclass
class LivePath:
    """One worker's ingest and correlation over in-memory tables."""

    settings: Settings
    now: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    alerts: Counts = field(default_factory=Counter)
    decisions: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        ctx = replace(load_ingest_context(self.settings), clock=lambda: self.now)
        self.ingest = Ingest(ctx)
        self.keyring = Keyring.open(self.settings.keys_dir)
        self.correlator = load_correlator(self.settings, ctx.registry, self.keyring)
        self.verifier = RecordVerifier(TrustedKeys.from_keyring(self.keyring))
        self.internal = ctx.internal_key
        clock = PolicyClock()
        agreements = sorted(
            (a for _, a in load_directory(self.settings.deploy_dir / "agreements").agreements),
            key=lambda a: (a.id, a.version),
        )
        for sequence, agreement in enumerate(agreements, start=1):
            clock.publish(
                encode_agreement_message(agreement, sequence, datetime(2000, 1, 1, tzinfo=UTC))
            )
        for partition in range(self.settings.partitions):
            clock.switch(partition, Switch(len(agreements)))
        self.moments = Moments(clock, ctx.registry)
        self.seen: dict[str, str] = {}
        self.subjects: dict[str, tuple[int, bytes]] = {}
        self.offsets: dict[int, int] = {}
        self.day: object = None
        self.rule_of: dict[str, str] = {}

    def take(self, agency: str, sealed: SealedMessage, at: datetime, n: int) -> None:
        """One feed message, received at ``at`` (its event's recorded_at)."""
        if self.day != at.date():
            self.tick(datetime.combine(at.date(), datetime.min.time(), UTC))
            self.day = at.date()
        self.now = at
        source = SourceRef(topic=self.settings.feed_topic(agency), partition=0, offset=n)
        message = FeedMessage(sealed.value, sealed.key, tuple(sealed.headers), source, agency, at)
        outcome = self.ingest.process(message, self.seen)
        for out in outcome.messages:
            if out.topic == self.settings.accepted_topic:
                self._correlate(out.value, out.partition or 0)

    def _correlate(self, value: bytes, partition: int) -> None:
        record = self.verifier.open(
            value, Place(self.settings.accepted_topic, partition), (Kind.EVENTS,)
        )
        offset = self.offsets.get(partition, 0) + 1
        self.offsets[partition] = offset
        (item,) = record.items
        event = self.correlator.read(item)
        token = event.subject_token
        if token is None:
            return
        state = self._state(token)
        folded = self.correlator.fold_event(
            event, state, self.moments.at(partition, record.at, offset)
        )
        if folded is not None:
            self._store(token, partition, offset, folded.step, record.at)

    def tick(self, at: datetime) -> None:
        """The clock tick: every subject holding a flag re-decided at ``at``."""
        for token in sorted(self.subjects):
            partition, _ = self.subjects[token]
            state = self._state(token)
            if not state.sent:
                continue
            offset = self.offsets.get(partition, 0) + 1
            self.offsets[partition] = offset
            step = self.correlator.rescan(token, state, self.moments.at(partition, at, offset))
            if step.pending or step.state != state:
                self._store(token, partition, offset, step, at)

    def _state(self, token: str) -> SubjectState:
        held = self.subjects.get(token)
        return SubjectState.from_bytes(None if held is None else value_of(held[1]).value)

    def _store(self, token: str, partition: int, offset: int, step: Step, at: datetime) -> None:
        row = Row("subjects", partition, token.encode())
        sealed = seal_value(self.internal, row, offset, step.state.to_bytes())
        self.subjects[token] = (partition, sealed)
        month = month_of(at)
        for record in step.decisions:
            self.decisions[(record.rule_id, record.recipient, month, record.outcome)] += 1
        for pending in step.pending:
            pid = pending.partnership_id
            key = self.keyring.hpke_key(partnership_owner(pid))
            body = AlertBody.from_bytes(key.open(pending.value, alert_info(pid, pending.alert_id)))
            rule = body.rule.id or self.rule_of.get(body.flag_id, "")
            self.rule_of.setdefault(body.flag_id, rule)
            self.alerts[(rule, pid, month, body.kind.value)] += 1
