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

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from hub.audit.answer import Forms
from hub.audit.collector import collection_paused
from hub.audit.entries import (
    differences,
    explain_event,
    id_of,
    parsed,
    release_of,
    time_of,
    validated,
)
from hub.audit.group import Dispatches
from hub.audit.history import History
from hub.audit.lane import Lane
from hub.audit.mismatch import Mismatch
from hub.audit.question import Question, question_of, written_question
from hub.audit.rederive import Derived, Rederiver, UnreplayableError
from hub.audit.release import ReleaseReplayer, release_record
from hub.audit.report import AskedIds, ReplayReport, ShardResult, Window
from hub.audit.watermark import WatermarkCheck
from hub.dispatch import DecisionRecord
from hub.geo import AreaLookup
from hub.idkey import IdKey
from hub.registry import Registry
from hub.rules import RuleSet


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
        self._groups = Dispatches(self._lane, self._rederiver) if self._lane is not None else None
        """Quiet denials checked a dispatch at a time (:mod:`hub.audit.group`), before the lane."""
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
    def groups(self) -> Dispatches | None:
        """The grouped lane, when taken (:mod:`hub.audit.group`)."""
        return self._groups

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
        report, seen = ReplayReport(), AskedIds()
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
            reach=None if self._history.scope is None else self._history.indexed(),
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
            self._grouped(value, window, explain, into)
            or self._written(value, window, explain, into)
        ):
            return
        raw = parsed(value)
        release = release_record(value) if raw is None else release_of(raw)
        if release is not None:
            self._release(release, into)
            return
        question = question_of(raw) if raw is not None else None
        bounded = window.start is not None or window.end is not None
        at = time_of(raw.get("decided_at")) if raw is not None and bounded else None
        if raw is None or question is None or (bounded and at is None) or self._feeds is not None:
            self._validated(value, window, explain, into)
            return
        report, seen = into
        if question.decision_id in seen:
            self._repeat(value, report)
            return
        seen.add(question.decision_id)
        self._decide(value, (raw, question, at), window, explain, into)

    def _grouped(
        self,
        value: bytes,
        window: Window,
        explain: Collection[str],
        into: tuple[ReplayReport, set[str]],
    ) -> bool:
        """Whether the entry is a quiet denial whose bytes are the ones its dispatch's group
        re-derives for it (:mod:`hub.audit.group`); then it is counted as :meth:`_fast`
        counts it. Otherwise nothing is changed, and the entry takes the lane."""
        groups, lane = self._groups, self._lane
        if groups is None or lane is None:
            return False
        found = groups.check(value)
        if found is None:
            return False
        written, at, counted = found
        decision_id = written.decode()
        report, seen = into
        if decision_id in seen or decision_id in explain:
            return False
        bounded = window.start is not None or window.end is not None
        if bounded and window.after(at):
            return False
        seen.add(decision_id)
        lane.hits += 1
        groups.hits += 1
        if not bounded:
            report.entries += 1
        elif not _inside(at, window, report):
            return True
        report.tally.count(*counted)
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
            at = time_of(decided_at)
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
        if validated(value) is not None:
            report.repeats += 1
            return
        report.entries += 1
        report.mismatched += 1
        report.mismatches.append(Mismatch(id_of(value), "record", "unreadable", "a record"))

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
            report.mismatches.append(Mismatch(id_of(value), "record", "unreadable", "a record"))
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
        if isinstance(known, DecisionRecord) or validated(value) is not None:
            report.outside += 1
            return
        report.entries += 1
        report.mismatched += 1
        report.mismatches.append(Mismatch(id_of(value), "record", "unreadable", "a record"))

    def _differences(
        self, value: bytes, known: DecisionRecord | dict[str, Any], found: Derived
    ) -> list[Mismatch]:
        """Nothing when the entry is the re-derived record; else every field that differs.

        ``known`` is the entry's record, or its parsed JSON when that differs from the
        re-derived record's form: it is then validated whole and compared as models, so
        each difference is named as before.
        """
        recorded = known if isinstance(known, DecisionRecord) else validated(value)
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
            recorded = validated(value)
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
                explain_event(e, d) for e, d in zip(found.events, derived.decisions, strict=True)
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
