"""What a backtest's dispatcher remembers across dispatches of a subject (``remembered``
above 0, :class:`hub.dispatch.Dispatcher`): the hub's flag named by its deny records, and
whether what a partnership sees of a hub flag still holds.

A subject's flag is recorded again at each of its dispatches (every partnership denied it,
every event, every tick), over the same contribution objects: both are functions of the rule
and of those objects alone, so they are remembered by the objects' identities (held with the
entry, so that their ids are not reused while it is there), bounded.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Sequence

from hub.disclosure import hub_flag
from hub.flags import Contribution, still_holds
from hub.flags.memo import Bounded
from hub.rules import Rule


def remembered_flag(
    rule: Rule, token: str, members: Sequence[Contribution]
) -> tuple[str, str, str]:
    """:func:`hub.disclosure.hub_flag`, remembered across dispatches. Known by the rule's and
    the members' identities (held with the entry, so that their ids are not reused) and the
    token."""
    key = (id(rule), token, tuple(map(id, members)))
    known = _HUB_FLAGS.get(key)
    if known is not None and known[0] is rule and all(map(operator.is_, known[1], members)):
        return known[2]
    found = hub_flag(rule, token, members)
    _HUB_FLAGS.put(key, (rule, tuple(members), found), len(members))  # weighed by its members
    return found


_HUB_FLAGS_MAX = 16384
_HUB_FLAGS: Bounded[
    tuple[int, str, tuple[int, ...]],
    tuple[Rule, tuple[Contribution, ...], tuple[str, str, str]],
] = Bounded(_HUB_FLAGS_MAX, 1 << 18)


def remembered_holds(rule: Rule, visible: Sequence[Contribution]) -> bool:
    """:func:`hub.flags.still_holds`, remembered across dispatches: a flag a partnership may
    not see is judged again at each dispatch of its subject (each event, each tick), over the
    same contribution objects. Known by the rule's and the events' identities (held with the
    entry, so that their ids are not reused); the newest :data:`_TOLD_MAX` kept, and none of
    more than :data:`_TOLD_EVENTS_MAX` events (an entry holds its events)."""
    if len(visible) > _TOLD_EVENTS_MAX:
        return still_holds(rule, visible)
    key = (id(rule), tuple(map(id, visible)))
    known = _TOLD.get(key)
    if known is not None and known[0] is rule and all(map(operator.is_, known[1], visible)):
        return known[2]
    found = still_holds(rule, visible)
    if len(_TOLD) >= _TOLD_MAX:
        _TOLD.popitem(last=False)  # the oldest
    _TOLD[key] = (rule, tuple(visible), found)
    return found


_TOLD_MAX = 8192
_TOLD_EVENTS_MAX = 32
_TOLD: OrderedDict[tuple[int, tuple[int, ...]], tuple[Rule, tuple[Contribution, ...], bool]] = (
    OrderedDict()
)
