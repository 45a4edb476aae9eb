"""The fast lane of replay: an entry's expected bytes, from answers remembered per input.

Most ledger entries are the record the live path wrote, and most of what such a record holds
repeats across thousands of entries: a flag is decided again at many positions, for each
partnership, under few agreement versions and time intervals. :class:`Lane` re-derives an
entry (:meth:`Lane.expect`) from parts each computed once per distinct input:

- the **place** (per stream position): its authenticated time, that time as the record and
  the decision id write it, the agreement sequence in force, and the interval of the book
  the time falls in (:class:`Place`);
- the **basis** (per position, events, rule and consent ends: ``Rederiver.basis``);
- the engine's **decision per event**: per event class (:func:`event_class`: sequence,
  agency, type, council, age band), interval and partnership, which is what the agreements
  engine itself remembers a decision per (:meth:`hub.dsa.Evaluator.decide`), when the
  subject has no consent record (the empty book answers every lookup alike); with consent
  records, per the same key and the ledger's answers to the lookups the engine makes for it
  (noted the first time, :class:`Asking`);
- the **verdict** (per flag and decisions): whether the rule still holds on the events
  permitted (per flag and events permitted), whether any decision consulted consent, and
  the decisions' bytes cut at the decision time;
- the flag's own fields as bytes (per flag and sequence).

What varies per entry is computed per entry: the decision id (one SHA-256,
:mod:`hub.audit.ids`), the alert ids and the change to the flags each partnership holds
(``Rederiver``'s own state, in ledger order), the consent records consulted and the consent
read; then the record's bytes are one join.

The lane only says what bytes an entry should have. The replayer counts an entry whose bytes
are these (:meth:`hub.audit.replay.Replayer.replay`); any other entry, and any entry the
lane cannot re-derive, takes the full path, which re-derives it without these memos and
names each difference. So the lane changes what replay costs, never what it reports
(``tests/unit/audit/test_lane.py`` compares the two on tampered ledgers, byte for byte, and
checks the key of the decisions remembered per event).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping
from datetime import datetime

import orjson

from hub.audit.answer import STAND_IN, STAND_IN_AT, Forms, time_text
from hub.audit.ids import decision_id_of, place_text
from hub.audit.lanebytes import flag_parts_of, quiet, tail_bytes
from hub.audit.question import Question, position_at
from hub.audit.rederive import Basis, Rederiver, UnreplayableError
from hub.audit.verdict import (
    UNASKED,
    Asked,
    Asking,
    EventClass,
    EventKey,
    Expected,
    Fact,
    Outcomes,
    Place,
    Verdict,
    event_class,
    fact_of,
)
from hub.consent import ConsentLedger
from hub.dispatch import Position, consent_read_of, consents_consulted
from hub.dsa import (
    NO_CONSENT,
    Decision,
    EventFacts,
    Purpose,
)
from hub.flags import still_holds

_MEMO_MAX = 65_536
_NO_AT = STAND_IN_AT
"""Stand-in for a decision's time while its bytes are cut around it (its text is found
nowhere else in a record: checked on each cut): the pieces' stand-in
(:data:`hub.audit.answer.STAND_IN`, its text)."""


class Lane:
    """Expected bytes for ledger entries, re-derived by a :class:`Rederiver` (see module doc)."""

    def __init__(self, rederiver: Rederiver, forms: Forms) -> None:
        self._rederiver = rederiver
        self._forms = forms
        self._places: dict[tuple[int, int], Place] = {}
        self._outcomes: dict[EventKey, Decision] = {}
        """The engine's decision per (event class, interval, partnership)."""
        self._consents: dict[EventKey, tuple[Asked, dict[tuple[Fact, ...], Decision]]] = {}
        """Per key, the lookups the engine makes, and the decisions per their answers."""
        self._verdicts: dict[tuple[int, tuple[int, ...]], tuple[object, Verdict]] = {}
        self._classes: dict[EventClass, int] = {}
        """Every event class met, numbered (few: agencies, types, councils, age bands)."""
        self._flag_classes: dict[tuple[int, int], tuple[object, tuple[int, ...]]] = {}
        self._parts: dict[tuple[int, int], tuple[object, bytes, bytes]] = {}
        self._answering: (
            tuple[ConsentLedger, str, datetime, Callable[[Purpose, str, str], Fact]] | None
        ) = None
        self._holds: dict[tuple[int, tuple[bool, ...]], tuple[object, bool]] = {}
        self._read: dict[tuple[int, ...], tuple[Outcomes, tuple[bool, ...], bool]] = {}
        """Per decisions (by identity, held): which permit, and whether any consulted
        consent (a flag's decisions for one partnership recur across flags and sequences)."""
        self.hits = 0
        """Entries whose bytes were the expected ones (counted by the replayer)."""
        self._breaks: dict[int, list[datetime]] = {}
        self._decided: dict[tuple[object, ...], Decision] = {}
        """The engine's decisions met, by value but for event id and time (:meth:`_same`)."""

    def expect(self, question: Question) -> Expected | None:
        """The entry's expected bytes; None when it cannot be re-derived (the full path
        then says why)."""
        position = question.position
        if position is None:
            return None
        try:
            basis = self._rederiver.basis(question)
        except UnreplayableError:
            return None
        place = self._place(position, basis)
        pid = question.recipient
        verdict = self.verdict(basis, place, pid)
        held = self._rederiver.held
        own, alert_id, change = held.permit(basis, pid) if verdict.permit else held.deny(basis, pid)
        decision_id = decision_id_of(basis.inputs, pid, place.iso, place.where)
        value = b"".join(
            (
                self._head(basis, place, pid, verdict, decision_id),
                self._tail(question, place, basis, verdict, (own, alert_id)),
            )
        )
        outcome = "permit" if verdict.permit else "deny"
        retraction = not verdict.permit and alert_id is not None
        return Expected(value, change, outcome, retraction, verdict, basis.agencies)

    @property
    def forms(self) -> Forms:
        """The JSON forms and bytes of decisions the lane writes with."""
        return self._forms

    @property
    def keyed(self) -> Mapping[str, object]:
        """The partnerships whose id keys replay holds (only their denials can be retractions)."""
        return self._rederiver.held.keys

    def verdict(
        self, basis: Basis, place: Place, pid: str, classes: tuple[int, ...] | None = None
    ) -> Verdict:
        """The engine's decisions for the entry, and whether the rule holds on the events
        permitted (per flag and decisions). The decisions are remembered per event class,
        interval and partnership when the subject has no consent record (:func:`event_class`),
        and per the flag's classes, interval, partnership and consent answers when it has.
        ``classes``: the flag's events' classes (:meth:`classes`), when the caller has them."""
        if classes is None:
            classes = self.classes(basis)
        outcomes = self.outcomes(basis, place, pid, classes)
        flagged = basis.flagged
        ids = tuple(map(id, outcomes))
        key = (id(flagged), ids)
        known = self._verdicts.get(key)
        if known is None or known[0] is not flagged:
            if len(self._verdicts) >= _MEMO_MAX:
                self._verdicts.clear()
            known = (flagged, self._settled(basis, outcomes, ids))
            self._verdicts[key] = known
        return known[1]

    def outcomes(self, basis: Basis, place: Place, pid: str, classes: tuple[int, ...]) -> Outcomes:
        """The engine's decisions on the flag's events for the partnership (``classes``:
        the events' classes, :meth:`classes`), remembered per event as :meth:`verdict` says."""
        if basis.consent.records:
            return self._consented(classes, basis, place, pid)
        return self._unconsented(classes, basis, place, pid)

    def _settled(self, basis: Basis, outcomes: Outcomes, ids: tuple[int, ...]) -> Verdict:
        """The verdict on the decisions as :meth:`Rederiver.rederive` reaches it (the rule
        re-checked on the events permitted, the consent clauses looked for), with whether
        the rule holds remembered per flag and events permitted (it depends on nothing else)."""
        flagged = basis.flagged
        read = self._read.get(ids)
        if read is None:  # held with the decisions: their identities stay theirs
            if len(self._read) >= _MEMO_MAX:
                self._read.clear()
            read = self._read[ids] = (
                outcomes,
                tuple([d.permitted for d in outcomes]),
                self._rederiver.consulting(outcomes),
            )
        _, permitted, consulting = read
        key = (id(flagged), permitted)
        known = self._holds.get(key)
        if known is None or known[0] is not flagged:
            if len(self._holds) >= _MEMO_MAX:
                self._holds.clear()
            visible = [c for c, p in zip(basis.members, permitted, strict=True) if p]
            known = (flagged, bool(visible) and still_holds(basis.rule, visible))
            self._holds[key] = known
        return Verdict(outcomes, known[1], consulting, ids)

    def _unconsented(
        self, classes: tuple[int, ...], basis: Basis, place: Place, pid: str
    ) -> Outcomes:
        """The engine's decisions for a subject without consent records, per event."""
        memo, slot = self._outcomes, place.slot
        found = [memo.get((c, slot, pid)) for c in classes]
        for known in found:
            if known is None:  # by identity: ``None in found`` asks each decision's __eq__
                break
        else:
            return tuple(found)  # type: ignore[arg-type]  # no None in it
        evaluator = self._rederiver.evaluator(basis.sequence)
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        outcomes = []
        for c, fact, known in zip(classes, basis.facts, found, strict=True):
            decision = (
                self._same(evaluator.outcome(fact, pid, place.at, NO_CONSENT))
                if known is None
                else known
            )
            memo[c, slot, pid] = decision
            outcomes.append(decision)
        return tuple(outcomes)

    def _consented(
        self, classes: tuple[int, ...], basis: Basis, place: Place, pid: str
    ) -> Outcomes:
        """The engine's decisions for a subject with consent records, per event: remembered
        per (event class, interval, partnership) and the consent ledger's answers to the
        lookups the engine makes for it.

        The engine asks the same lookups (purpose, provider) for every event of one class,
        interval and partnership (it remembers them per its own key, a part of this one:
        :meth:`Evaluator.outcome`), so they are noted the first time (:class:`Asking`) and
        asked again of each ledger.
        """
        ledger, token, at, slot = basis.consent, basis.token, place.at, place.slot
        answer = self._answerer(ledger, token, at)
        outcomes = []
        for c, fact in zip(classes, basis.facts, strict=True):
            key = (c, slot, pid)
            known = self._consents.get(key)
            if known is not None:
                asked, by_answers = known
                answers = tuple([answer(p, a, pid) for p, a in asked])
                found = by_answers.get(answers)
                if found is not None:
                    outcomes.append(found)
                    continue
            outcomes.append(self._ask(key, fact, basis, at))
        return tuple(outcomes)

    def _answerer(
        self, ledger: ConsentLedger, token: str, at: datetime
    ) -> Callable[[Purpose, str, str], Fact]:
        """The ledger's answer to a lookup (purpose, provider, partnership) for the subject
        at ``at``, remembered while the ledger and the time stay the same (the entries of
        one dispatch: every flag of the subject, for every partnership)."""
        last = self._answering
        if last is not None and last[0] is ledger and last[1] == token and last[2] == at:
            return last[3]
        answers: dict[tuple[Purpose, str, str], Fact] = {}

        def answer(purpose: Purpose, provider: str, pid: str) -> Fact:
            key = (purpose, provider, pid)
            found = answers.get(key, UNASKED)
            if found is UNASKED:
                found = answers[key] = fact_of(
                    ledger.consent_for(token, purpose, provider, pid, at)
                )
            return found  # type: ignore[return-value]  # not the stand-in

        self._answering = (ledger, token, at, answer)
        return answer

    def _ask(
        self, key: tuple[int, int, str], fact: EventFacts, basis: Basis, at: datetime
    ) -> Decision:
        """An event decided by the engine, its consent lookups and answers noted."""
        pid = key[2]
        asking = Asking(basis.consent, basis.token, pid)
        evaluator = self._rederiver.evaluator(basis.sequence)
        decision = self._same(evaluator.outcome(fact, pid, at, asking))
        if asking.foreign:  # asked about another subject or partnership: not remembered
            return decision
        asked = tuple(asking.asked)
        known = self._consents.get(key)
        if known is None or known[0] != asked or len(known[1]) >= _MEMO_MAX:
            if len(self._consents) >= _MEMO_MAX:
                self._consents.clear()
            known = self._consents[key] = (asked, {})
        known[1][tuple(asking.answers)] = decision
        return decision

    def _same(self, decision: Decision) -> Decision:
        """The decision met first that equals this one but for event id and time.

        The engine decides per agreement sequence, so a flag decided again after a new
        sequence gets new decisions, mostly equal to the old ones; with one object per value,
        the verdicts (and their bytes) remembered per the decisions' identities are found
        again (every use of a decision here takes it as possibly another event's, at
        another time: :class:`Verdict`, :meth:`Forms.decisions_bytes`).
        """
        key = (
            decision.outcome,
            decision.recipient,
            decision.purpose,
            decision.agreement_id,
            decision.agreement_version,
            decision.agreement_digest,
            decision.level,
            decision.consent_id,
            decision.fields,
            decision.clauses,
            decision.reasons,
        )
        found = self._decided.get(key)
        if found is None:
            if len(self._decided) >= _MEMO_MAX:
                self._decided.clear()
            found = self._decided[key] = decision
        return found

    def classes(self, basis: Basis) -> tuple[int, ...]:
        """The flag's events' classes at the basis's sequence, numbered."""
        key = (id(basis.flagged), basis.sequence)
        known = self._flag_classes.get(key)
        if known is None or known[0] is not basis.flagged:
            if len(self._flag_classes) >= _MEMO_MAX:
                self._flag_classes.clear()
            evaluator = self._rederiver.evaluator(basis.sequence)
            numbers = self._classes
            found = tuple(
                numbers.setdefault(event_class(f, basis.sequence, evaluator), len(numbers))
                for f in basis.facts
            )
            known = self._flag_classes[key] = (basis.flagged, found)
        return known[1]

    def _place(self, position: Position, basis: Basis) -> Place:
        place = self._places.get((position.partition, position.offset))
        return (
            self._placed(position.partition, position.offset, basis.at, basis.sequence)
            if place is None
            else place
        )

    def place(self, partition: int, offset: int) -> Place | None:
        """What an entry's stream position determines; None when no accepted record is there."""
        place = self._places.get((partition, offset))
        if place is not None:
            return place
        history = self._rederiver.history
        at = history.timestamp(partition, offset)
        if at is None:
            return None
        return self._placed(partition, offset, at, history.sequence_at(partition, offset))

    def _placed(self, partition: int, offset: int, at: datetime, sequence: int) -> Place:
        if len(self._places) >= _MEMO_MAX:
            self._places.clear()
        iso, where = at.isoformat(), f"{partition}:{offset}"
        place = self._places[partition, offset] = Place(
            at=at,
            text=b'"' + time_text(at).encode(),
            iso=iso,
            sequence=sequence,
            slot=self.slot(sequence, at),
            where=where,
            where_json=b'{"partition":%d,"offset":%d}' % (partition, offset),
            hashed=place_text(iso, where),
            position=position_at(partition, offset),
        )
        return place

    def slot(self, sequence: int, at: datetime) -> int:
        """The interval of the book at ``sequence`` that ``at`` falls in (the engine decides
        alike within one: its breakpoints are every instant an agreement may start or end)."""
        found = self._breaks.get(sequence)
        if found is None:
            book = self._rederiver.evaluator(sequence).book
            found = self._breaks[sequence] = list(book.breakpoints())
        return bisect_right(found, at)

    def _head(
        self, basis: Basis, place: Place, pid: str, verdict: Verdict, decision_id: str
    ) -> bytes:
        """The record's bytes up to the end of its decisions, as :meth:`Forms.json_bytes`
        writes them (the flag's own fields kept per flag and sequence)."""
        flag_part, events_part = self.flag_parts(basis)
        return b"".join(
            (
                b'{"decision_id":"',
                decision_id.encode(),
                b'","decided_at":',
                place.text,
                b'","recipient":',
                orjson.dumps(pid),
                flag_part,
                b'"permit"' if verdict.permit else b'"deny"',
                events_part,
                place.text.join(self.decisions(basis, verdict)),
            )
        )

    def decisions(self, basis: Basis, verdict: Verdict) -> list[bytes]:
        """The decisions' bytes for the flag's events, cut at each decision's time (kept
        with the verdict, which is one flag's: joined with the entry's time, they are what
        :meth:`Forms.decisions_bytes` writes)."""
        chunks = verdict.chunks
        if chunks is None:
            chunks = self._forms.decision_chunks(verdict.outcomes, basis.events)
            if chunks is None:  # a decision written whole, or an event id holding the stand-in
                written = b",".join(
                    self._forms.decisions_bytes(verdict.outcomes, basis.events, _NO_AT)
                )
                chunks = written.split(STAND_IN)
            if len(chunks) != 1 + len(basis.events):  # not once each: written per entry
                chunks = []
            verdict.chunks = chunks
        if not chunks:
            at = basis.at
            return [b",".join(self._forms.decisions_bytes(verdict.outcomes, basis.events, at))]
        return chunks

    def flag_parts(self, basis: Basis) -> tuple[bytes, bytes]:
        """The flag's fields between the recipient and the outcome, and from the events to
        the opening of the decisions."""
        key = (id(basis.flagged), basis.sequence)
        known = self._parts.get(key)
        if known is None or known[0] is not basis.flagged:
            if len(self._parts) >= _MEMO_MAX:
                self._parts.clear()
            known = (basis.flagged, *flag_parts_of(basis))
            self._parts[key] = known
        return known[1], known[2]

    def _tail(
        self,
        question: Question,
        place: Place,
        basis: Basis,
        verdict: Verdict,
        ids: tuple[str | None, str | None],
    ) -> bytes:
        """The record's bytes after its decisions: alert id, position, consents, severity,
        the partnership's flag id and the consent read."""
        consents = (
            consents_consulted(
                basis.consent, basis.token, basis.at, basis.members, verdict.outcomes
            )
            if verdict.consulting
            else ()
        )
        read = (
            None
            if question.watermark is None and not basis.consent.ends
            else consent_read_of(basis.consent, question.watermark)
        )
        own, alert_id = ids
        if alert_id is None and own is None and not consents and read is None:
            return b"".join((b'],"alert_id":null,"position":', place.where_json, quiet(basis)))
        return tail_bytes((alert_id, basis.position), consents, basis.severity, own, read)
