"""Replay: take every ledger decision again from its own inputs, and say where it differs.

For each entry the replayer uses only what the entry references and the streams it was taken
from (:class:`~hub.audit.history.History`), never the recorded outcome:

1. its ``position`` gives the accepted record it was taken at: the decision time is that
   record's timestamp, the agreement sequence is the one the partition's switch markers had
   reached there, and the subject's consent state is its consent events folded up to there;
2. its event ids give the accepted events (each must precede the position, in the same
   partition, about one subject); the correlation rules give their contributions, and the
   flag's id and revision are derived from them (the rule must hold on them);
3. the agreements in force at that sequence (:class:`~hub.dsa.Evaluator`) decide each event
   for the recipient under that consent state; the rule is re-checked on the events allowed;
4. the ids (inputs digest, decision id, alert id) and the consent records consulted are
   derived again. A retraction's alert id needs the revision last sent to the partnership,
   which replay tracks from the permits it re-derived earlier in ledger order.

The re-derived record is compared with the recorded one: first as bytes (an entry written as
the live path writes it is, byte for byte, the re-derived record's ``model_dump_json``, read
with no parse: :func:`~hub.audit.question.written_question`), then as parsed JSON, then
field by field; every difference is a :class:`Mismatch` (decision id, field, recorded,
re-derived). Given the consent feeds
(:class:`~hub.audit.watermark.WatermarkCheck`), each entry's consent watermark is checked
against them too; without them it is taken as recorded.
"""

from __future__ import annotations

import gc
import json
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError as PydanticValidationError

from hub.audit.answer import Forms
from hub.audit.history import History
from hub.audit.lane import Lane
from hub.audit.mismatch import Mismatch
from hub.audit.question import Question, question_of, written_question
from hub.audit.rederive import Derived, Rederiver, UnreplayableError
from hub.audit.release import ReleaseReplayer, release_record
from hub.audit.stamp import Stamps
from hub.audit.tally import Tally
from hub.audit.watermark import WatermarkCheck, WatermarkCounts
from hub.dispatch import DecisionRecord
from hub.dsa import Decision
from hub.geo import AreaLookup
from hub.idkey import IdKey
from hub.models.accepted import Located
from hub.registry import Registry
from hub.rules import RuleSet
from hub.sna import is_release_record


@dataclass(frozen=True, slots=True)
class Window:
    """The decision times to report on (inclusive bounds; None: open)."""

    start: datetime | None = None
    end: datetime | None = None

    def before(self, at: datetime) -> bool:
        """Whether ``at`` is before the window."""
        return self.start is not None and at < self.start

    def after(self, at: datetime) -> bool:
        """Whether ``at`` is after the window."""
        return self.end is not None and at > self.end


@dataclass(slots=True)
class ReplayReport:
    """What a replay found: counts, every mismatch, the summary, explanations asked for."""

    entries: int = 0
    repeats: int = 0
    outside: int = 0
    mismatched: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    explanations: list[dict[str, Any]] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    watermark: dict[str, Any] | None = None
    """The watermark check against the consent feeds, or None when none were given."""
    validated: int = 0
    """Entries read as whole records: not of the record's shape, or not equal to the
    re-derived one on the fast path (or every entry, with the consent feeds)."""

    @property
    def ok(self) -> bool:
        """Whether every entry re-derived exactly as recorded."""
        return not self.mismatches

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "ok": self.ok,
            "entries": self.entries,
            "repeats": self.repeats,
            "outside_window": self.outside,
            "mismatched_entries": self.mismatched,
            "mismatches": [m.to_json() for m in self.mismatches],
            "summary": self.tally.to_json(),
            "explanations": self.explanations,
            "unexplained": self.unexplained,
            "watermark": self.watermark,
            "validated_whole": self.validated,
        }


@dataclass(slots=True)
class ShardResult:
    """What a replay of some entries found, as plain values another process can merge:
    each mismatch and explanation with the index of its entry among all entries."""

    entries: int
    repeats: int
    outside: int
    mismatched: int
    validated: int
    mismatches: list[tuple[int, Mismatch]]
    explanations: list[tuple[int, dict[str, Any]]]
    tally: tuple[Counter[tuple[str, str, bool]], Counter[Any]]
    watermark: WatermarkCounts | None
    asked: set[str]
    """Every decision id looked up among those seen (repeats are found by id)."""
    subjects: set[str]
    """Every subject whose held flags a re-derivation read."""
    history: dict[str, int]
    """The history's counts (``Counts`` and ``records``)."""
    undecodable_events: set[str]
    """Events this shard's history found undecodable when looked up (in ``history``)."""
    cpu: float = 0.0
    """CPU seconds its process spent on it (set by the caller)."""


class _Asked(set[str]):
    """The decision ids seen, remembering every id looked up (:meth:`Replayer.shard`)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            self.asked.add(item)
        return super().__contains__(item)


class Replayer:
    """Replays a decisions topic: every entry re-derived (:class:`Rederiver`) and compared."""

    def __init__(
        self,
        history: History,
        rules: RuleSet,
        registry: Registry,
        areas: AreaLookup,
        id_keys: Mapping[str, IdKey] | None = None,
        *,
        feeds: WatermarkCheck | None = None,
        fast: bool = True,
    ) -> None:
        self._rederiver = Rederiver(history, rules, registry, areas, id_keys)
        self._history = history
        self._feeds = feeds
        self._releases = ReleaseReplayer(history, registry, areas)
        self._forms = Forms()
        self._lane = Lane(self._rederiver, self._forms) if fast else None
        """Expected bytes from remembered verdicts (:mod:`hub.audit.lane`); without it,
        every entry is re-derived in full (the reference the tests compare it with)."""
        self._stamps = Stamps(self._lane, self._rederiver) if self._lane is not None else None
        """Quiet denials checked against stamps (:mod:`hub.audit.stamp`), before the lane."""
        self._guessed: Derived | None = None
        """The entry re-derived from its written question, when its bytes differed."""

    @property
    def rederiver(self) -> Rederiver:
        """What re-derives each entry in full."""
        return self._rederiver

    @property
    def lane(self) -> Lane | None:
        """The fast lane, when taken (:mod:`hub.audit.lane`)."""
        return self._lane

    @property
    def stamps(self) -> Stamps | None:
        """The stamped lane, when taken (:mod:`hub.audit.stamp`)."""
        return self._stamps

    def replay(
        self,
        values: Iterable[bytes],
        window: Window | None = None,
        explain: Collection[str] = (),
        advance: Callable[[], None] | None = None,
    ) -> ReplayReport:
        """Re-decide every entry (decisions-topic values, in order; repeats skipped)."""
        window = window or Window()
        report, seen = ReplayReport(), set[str]()
        with collection_paused():
            for value in values:
                if advance is not None:
                    advance()
                self._one(value, window, explain, (report, seen))
        explained = {e["decision_id"] for e in report.explanations}
        report.unexplained = sorted(set(explain) - explained)  # unknown, or outside the window
        report.watermark = self._feeds.to_json() if self._feeds is not None else None
        return report

    def shard(
        self,
        items: Iterable[tuple[int, bytes]],
        window: Window | None = None,
        explain: Collection[str] = (),
        advance: Callable[[], None] | None = None,
    ) -> ShardResult:
        """Re-decide some entries (with their indices among all entries, in order), as
        :meth:`replay` does, and say what a merge with other shards needs
        (:func:`hub.audit.shard.replay_sharded`)."""
        window = window or Window()
        report, seen = ReplayReport(), _Asked()
        mismatch_at: list[int] = []
        explained_at: list[int] = []
        with collection_paused():
            for index, value in items:
                if advance is not None:
                    advance()
                self._one(value, window, explain, (report, seen))
                mismatch_at += [index] * (len(report.mismatches) - len(mismatch_at))
                explained_at += [index] * (len(report.explanations) - len(explained_at))
        return ShardResult(
            entries=report.entries,
            repeats=report.repeats,
            outside=report.outside,
            mismatched=report.mismatched,
            validated=report.validated,
            mismatches=list(zip(mismatch_at, report.mismatches, strict=True)),
            explanations=list(zip(explained_at, report.explanations, strict=True)),
            tally=report.tally.counted(),
            watermark=None if self._feeds is None else self._feeds.counted(),
            asked=seen.asked,
            subjects=self._rederiver.subjects,
            history=self.history_counts(),
            undecodable_events=self._history.undecodable_events,
        )

    def history_counts(self) -> dict[str, int]:
        """What the history could not use (:class:`~hub.audit.history.Counts`) and the
        accepted records it read (``records``)."""
        return asdict(self._history.counts) | {"records": self._history.records}

    def _one(
        self,
        value: bytes,
        window: Window,
        explain: Collection[str],
        into: tuple[ReplayReport, set[str]],
    ) -> None:
        """One entry: its bytes equal to the re-derived record's (:meth:`_written`), else its
        question read from the JSON (:func:`question_of`), or the record validated whole when
        the JSON does not have the record's shape."""
        self._guessed = None
        if self._feeds is None and (
            self._stamped(value, window, explain, into)
            or self._written(value, window, explain, into)
        ):
            return
        raw = _parsed(value)
        release = release_record(value) if raw is None else _release_of(raw)
        if release is not None:
            self._release(release, into)
            return
        question = question_of(raw) if raw is not None else None
        bounded = window.start is not None or window.end is not None
        at = _time(raw.get("decided_at")) if raw is not None and bounded else None
        if raw is None or question is None or (bounded and at is None) or self._feeds is not None:
            self._validated(value, window, explain, into)
            return
        report, seen = into
        if question.decision_id in seen:
            self._repeat(value, report)
            return
        seen.add(question.decision_id)
        self._decide(value, (raw, question, at), window, explain, into)

    def _stamped(
        self,
        value: bytes,
        window: Window,
        explain: Collection[str],
        into: tuple[ReplayReport, set[str]],
    ) -> bool:
        """Whether the entry is a quiet denial whose bytes are its stamp's filled for it
        (:mod:`hub.audit.stamp`); then it is counted as :meth:`_fast` counts it. Otherwise
        nothing is changed, and the entry takes the lane."""
        stamps, lane = self._stamps, self._lane
        if stamps is None or lane is None:
            return False
        found = stamps.check(value)
        if found is None:
            return False
        written, at, stamp = found
        decision_id = written.decode()
        report, seen = into
        if decision_id in seen or decision_id in explain:
            return False
        bounded = window.start is not None or window.end is not None
        if bounded and window.after(at):
            return False
        seen.add(decision_id)
        lane.hits += 1
        stamps.hits += 1
        if not bounded:
            report.entries += 1
        elif not _inside(at, window, report):
            return True
        report.tally.stamp(stamp.tallied)
        return True

    def _written(
        self,
        value: bytes,
        window: Window,
        explain: Collection[str],
        into: tuple[ReplayReport, set[str]],
    ) -> bool:
        """Whether the entry is, byte for byte, the record re-derived from the question its
        bytes show (then it is counted here). When the bytes differ, the re-derivation is
        kept, its change to the flags held not made: :meth:`_compare` makes it if the parsed
        question is the same, and otherwise re-derives from the parsed one."""
        written = written_question(value)
        if written is None or written[0].decision_id in into[1]:
            return False
        question, decided_at = written
        at = None
        if window.start is not None or window.end is not None:
            at = _time(decided_at)
            if at is None or window.after(at):
                return False
        entry = (question, at)
        return self._fast(value, entry, window, explain, into) or self._full(
            value, entry, window, explain, into
        )

    def _full(
        self,
        value: bytes,
        written: tuple[Question, datetime | None],
        window: Window,
        explain: Collection[str],
        into: tuple[ReplayReport, set[str]],
    ) -> bool:
        """:meth:`_written` re-deriving the entry in full (nothing remembered but the flags
        and the engine's decisions)."""
        question, at = written
        report, seen = into
        try:
            found = self._rederiver.rederive(question, commit=False)
        except UnreplayableError:
            return False
        if self._forms.json_bytes(found.answer) != value:
            self._guessed = found
            return False
        found.commit()
        seen.add(question.decision_id)
        if not _inside(at, window, report):
            return True
        report.tally.add(found.answer, found.agencies)
        if question.decision_id in explain:
            report.explanations.append(self._explanation(question.decision_id, found))
        return True

    def _fast(
        self,
        value: bytes,
        written: tuple[Question, datetime | None],
        window: Window,
        explain: Collection[str],
        into: tuple[ReplayReport, set[str]],
    ) -> bool:
        """Whether the entry's bytes are the ones the fast lane expects (then it is counted
        as :meth:`_written` counts it; else nothing is changed)."""
        question, at = written
        lane = self._lane
        if lane is None or question.decision_id in explain:
            return False
        expected = lane.expect(question)
        if expected is None or expected.value != value:
            return False
        report, seen = into
        expected.change()
        seen.add(question.decision_id)
        lane.hits += 1
        if not _inside(at, window, report):
            return True
        verdict = expected.verdict
        report.tally.count(
            (expected.outcome, question.recipient, expected.retraction),
            expected.agencies,
            (verdict.outcomes, verdict.ids),
        )
        return True

    @staticmethod
    def _repeat(value: bytes, report: ReplayReport) -> None:
        """A repeated decision id: skipped as the ledger skips it, if it is a record at all."""
        if _validate(value) is not None:
            report.repeats += 1
            return
        report.entries += 1
        report.mismatched += 1
        report.mismatches.append(Mismatch(_id_of(value), "record", "unreadable", "a record"))

    def _release(self, release: dict[str, Any], into: tuple[ReplayReport, set[str]]) -> None:
        report, seen = into
        if release["decision_id"] in seen:
            report.repeats += 1
            return
        seen.add(release["decision_id"])
        report.entries += 1
        differing = self._releases.compare(release)
        report.mismatched += 1 if differing else 0
        report.mismatches.extend(differing)

    def _validated(
        self,
        value: bytes,
        window: Window,
        explain: Collection[str],
        into: tuple[ReplayReport, set[str]],
    ) -> None:
        """An entry validated as a whole record before anything is re-derived."""
        report, seen = into
        report.validated += 1
        try:
            recorded = DecisionRecord.model_validate_json(value)
        except PydanticValidationError:
            report.entries += 1
            report.mismatched += 1
            report.mismatches.append(Mismatch(_id_of(value), "record", "unreadable", "a record"))
            return
        if recorded.decision_id in seen:
            report.repeats += 1
            return
        seen.add(recorded.decision_id)
        reading = (recorded, Question.of(recorded), recorded.decided_at)
        self._decide(value, reading, window, explain, into)

    def _decide(
        self,
        value: bytes,
        reading: tuple[DecisionRecord | dict[str, Any], Question, datetime | None],
        window: Window,
        explain: Collection[str],
        into: tuple[ReplayReport, set[str]],
    ) -> None:
        """Re-derive an entry and compare. ``reading`` is the entry as its record or its parsed
        JSON, its question, and its decision time when a window needs it."""
        report, _ = into
        known, question, at = reading
        if at is not None and window.after(at):
            self._outside(value, known, report)
            return
        found = self._compare(question, value)
        if at is not None and window.before(at):
            self._outside(value, known, report)
            return
        report.entries += 1
        if isinstance(found, list):
            report.mismatched += 1
            report.mismatches.extend(found)
            return
        if isinstance(known, dict) and self._forms.json_form(found.answer) == known:
            mismatches = []
        else:
            report.validated += 0 if isinstance(known, DecisionRecord) else 1
            mismatches = self._differences(value, known, found)
        if self._feeds is not None and isinstance(known, DecisionRecord):
            token = found.events[0].event.subject_token or ""
            mismatches += self._feeds.check(known, found.record, token, self._history)
        if mismatches:
            report.mismatched += 1
            report.mismatches.extend(mismatches)
        report.tally.add(found.answer, found.agencies)
        if question.decision_id in explain:
            report.explanations.append(self._explanation(question.decision_id, found))

    @staticmethod
    def _outside(
        value: bytes, known: DecisionRecord | dict[str, Any], report: ReplayReport
    ) -> None:
        """An entry outside the window: counted, unless it is not a record at all."""
        if isinstance(known, DecisionRecord) or _validate(value) is not None:
            report.outside += 1
            return
        report.entries += 1
        report.mismatched += 1
        report.mismatches.append(Mismatch(_id_of(value), "record", "unreadable", "a record"))

    def _differences(
        self, value: bytes, known: DecisionRecord | dict[str, Any], found: Derived
    ) -> list[Mismatch]:
        """Nothing when the entry is the re-derived record; else every field that differs.

        ``known`` is the entry's record, or its parsed JSON when that differs from the
        re-derived record's form: it is then validated whole and compared as models, so
        each difference is named as before.
        """
        recorded = known if isinstance(known, DecisionRecord) else _validate(value)
        if recorded is None:
            return [Mismatch(found.answer.decision_id, "record", "unreadable", "a record")]
        # The ledger holds what the live path wrote: the same bytes mean no field differs.
        if found.record.model_dump_json().encode() == value:
            return []
        return differences(recorded, found.record)

    def _compare(self, question: Question, value: bytes) -> Derived | list[Mismatch]:
        guessed, self._guessed = self._guessed, None
        if guessed is not None and guessed.question == question:
            guessed.commit()
            return guessed
        try:
            return self._rederiver.rederive(question)
        except UnreplayableError as exc:
            recorded = _validate(value)
            if recorded is None:
                return [Mismatch(question.decision_id, "record", "unreadable", "a record")]
            recorded_value = recorded.model_dump(mode="json").get(exc.field_name)
            return [Mismatch(question.decision_id, exc.field_name, recorded_value, exc.reason)]

    def _explanation(self, decision_id: str, found: Derived) -> dict[str, Any]:
        derived = found.record
        return {
            "decision_id": decision_id,
            "outcome": derived.outcome,
            "retraction": derived.outcome == "deny" and derived.alert_id is not None,
            "decided_at": derived.decided_at.isoformat(),
            "policy_sequence": derived.policy_sequence,
            "events": [
                _explain_event(e, d) for e, d in zip(found.events, derived.decisions, strict=True)
            ],
            "consents": [
                self._explain_consent(c.model_dump(mode="json")) for c in derived.consents
            ],
        }

    def _explain_consent(self, consulted: dict[str, Any]) -> dict[str, Any]:
        ended = consulted.get("ended_event")
        located = self._history.event(ended) if ended else None
        if located is not None:
            consulted["ended_by"] = located.event.event_type
            consulted["ended_in_stream_at"] = located.at.isoformat()
            consulted["ended_position"] = {"partition": located.partition, "offset": located.offset}
        return consulted


def _inside(at: datetime | None, window: Window, report: ReplayReport) -> bool:
    """Count a replayed entry in ``report``: inside the window (to be tallied) or before it."""
    if at is not None and window.before(at):
        report.outside += 1
        return False
    report.entries += 1
    return True


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector made rare for a replay's loop, and restored after.

    A replay allocates a few dozen small objects per entry and keeps its memos (bounded)
    alive: the collector's passes over them cost about a tenth of the replay's time
    (``docs/benchmarks.md``) and free little. The young generation is collected every
    :data:`REPLAY_YOUNG_THRESHOLD` allocations instead of every 700, so whatever cyclic
    garbage a ledger's entries do leave stays bounded however long the ledger; reference
    counting frees everything else as usual. A collector that was disabled stays so.

    What exists when the loop starts (the history just indexed, the replayer's memos) is
    frozen for the loop (:func:`gc.freeze`) and unfrozen after, into the oldest generation:
    it lives as long as the replay, and the young collections the loop makes need not walk
    it (a history just indexed is still young; ``docs/benchmarks.md``, branch replay12).
    Not when something is frozen already: unfreezing would undo the caller's freeze.
    """
    if not gc.isenabled():
        yield
        return
    thresholds = gc.get_threshold()
    gc.set_threshold(REPLAY_YOUNG_THRESHOLD, *thresholds[1:])
    freezing = gc.get_freeze_count() == 0  # else the caller froze: its choice is left alone
    if freezing:
        gc.freeze()
    try:
        yield
    finally:
        if freezing:
            gc.unfreeze()
        gc.set_threshold(*thresholds)


REPLAY_YOUNG_THRESHOLD = 200_000
"""Allocations between two young collections while a replay runs (CPython's default: 700)."""


def _explain_event(located: Located, decision: Decision) -> dict[str, Any]:
    return {
        "event_id": located.event.event_id,
        "event_type": located.event.event_type,
        "agency": located.event.envelope.agency_id,
        "outcome": str(decision.outcome),
        "agreement": f"{decision.agreement_id}@{decision.agreement_version}"
        if decision.permitted
        else None,
        "reasons": [str(r) for r in decision.reasons],
        "failed_clauses": [
            f"{c.agreement}:{c.clause}: {c.detail}"
            for c in decision.clauses
            if c.effect == "failed"
        ],
    }


def _release_of(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The release record an entry's JSON is, or None when it is a decision."""
    return raw if is_release_record(raw) and isinstance(raw.get("decision_id"), str) else None


def _parsed(value: bytes) -> dict[str, Any] | None:
    """The entry's JSON object, or None when it is not one."""
    try:
        raw = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return raw if isinstance(raw, dict) else None


def _time(value: object) -> datetime | None:
    """A recorded time read without the model (None when it needs the model to read it)."""
    if type(value) is not str:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def _validate(value: bytes) -> DecisionRecord | None:
    """The entry validated as a record, or None when it is not one."""
    try:
        return DecisionRecord.model_validate_json(value)
    except PydanticValidationError:
        return None


def _id_of(value: bytes) -> str:
    """The decision id of an unreadable record, if it has one."""
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ""
    return str(raw.get("decision_id", "")) if isinstance(raw, dict) else ""


def differences(recorded: DecisionRecord, derived: DecisionRecord) -> list[Mismatch]:
    """Every field that differs between two records (per event decision for ``decisions``)."""
    left, right = recorded.model_dump(mode="json"), derived.model_dump(mode="json")
    found = []
    for name in sorted(left.keys() | right.keys()):
        if name == "decisions":
            found += _decision_differences(recorded.decision_id, left[name], right[name])
        elif left.get(name) != right.get(name):
            found.append(Mismatch(recorded.decision_id, name, left.get(name), right.get(name)))
    return found


def _decision_differences(
    decision_id: str, left: list[dict[str, Any]], right: list[dict[str, Any]]
) -> list[Mismatch]:
    if len(left) != len(right):
        return [Mismatch(decision_id, "decisions", len(left), len(right))]
    return [
        Mismatch(decision_id, f"decisions[{n}].{name}", one.get(name), other.get(name))
        for n, (one, other) in enumerate(zip(left, right, strict=True))
        for name in sorted(one.keys() | other.keys())
        if one.get(name) != other.get(name)
    ]
