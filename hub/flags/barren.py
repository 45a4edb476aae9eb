"""Rules known to have no episode over a window, carried to the windows derived from it.

Most events join a window on which no rule holds, and most leave it so: evaluating every rule
again after each event was most of the hub's flag work. A rule with no episode over a window
has none over a window derived from it by

- adding a contribution that does not qualify for the rule (its qualifying set is unchanged:
  an episode is a function of the qualifying contributions at or after the floor alone), or
- dropping contributions and raising floors (:meth:`SubjectWindow.without_before`): every
  window's members are then a subset of what they were, and a rule's conditions are
  monotone in its members (counts, agencies, required labels, sequences).

:func:`hub.flags.engine.evaluate` notes the barren rules of each window it evaluates and skips
those a window inherited. Windows are immutable, so what is noted stays true; the notes are
kept by window identity (holding the window, so that its id is not reused), bounded.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from hub.flags.match import contributing_types, labels

if TYPE_CHECKING:
    from hub.flags.contribution import Contribution
    from hub.rules import RuleSet

_CAPACITY = 32768
_NONE: frozenset[str] = frozenset()
_TYPES_CAPACITY = 64
_types: dict[int, tuple[RuleSet, dict[str, frozenset[str]]]] = {}
_notes: OrderedDict[int, tuple[object, RuleSet, frozenset[str]]] = OrderedDict()


def barren(window: object, rules: RuleSet) -> frozenset[str]:
    """Ids of the rules of ``rules`` known to have no episode over ``window`` (maybe not all)."""
    found = _notes.get(id(window))
    if found is None or found[0] is not window or found[1] is not rules:
        return _NONE
    return found[2]


def note(window: object, rules: RuleSet, without: frozenset[str]) -> None:
    """Remember that none of the rules ``without`` names has an episode over ``window``."""
    if len(_notes) >= _CAPACITY:
        _notes.popitem(last=False)  # the oldest: the windows in use are the recent ones
    _notes[id(window)] = (window, rules, without)


def derive(child: object, parent: object, added: Contribution | None) -> None:
    """``child`` is ``parent`` with ``added`` (or, for None, with fewer events and floors no
    lower): it inherits the parent's barren rules that ``added`` does not qualify for."""
    found = _notes.get(id(parent))
    if found is None or found[0] is not parent:
        return
    _, rules, without = found
    if added is not None:
        named = _naming(rules).get(added.event_type, _NONE) & without
        if named:  # else it qualifies for none of them: its type is none of theirs
            without = without - {r for r in named if labels(rules.get(r), added)}
    if without:
        note(child, rules, without)


def _naming(rules: RuleSet) -> dict[str, frozenset[str]]:
    """Per event type, the ids of the rules whose contributors name it (once per rule set)."""
    found = _types.get(id(rules))
    if found is not None and found[0] is rules:
        return found[1]
    by_type: dict[str, set[str]] = {}
    for rule in rules.rules:
        for event_type in contributing_types(rule):
            by_type.setdefault(event_type, set()).add(rule.id)
    naming = {t: frozenset(ids) for t, ids in by_type.items()}
    if len(_types) >= _TYPES_CAPACITY:  # rule sets are few; only tests build many
        _types.clear()
    _types[id(rules)] = (rules, naming)  # held: its id is not reused
    return naming
