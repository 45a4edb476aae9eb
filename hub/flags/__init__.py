"""Risk flags: one subject's window of contributions, rules over it, flags that explain themselves.

::

    contribution = contribution_of(event, council, rules)     # None for area-level events
    window = window.add(contribution)                          # idempotent by event id
    flags = evaluate(rules, token, window, now)               # FlagState per matching window
    change = transition(previous, flag)                        # raised / escalated / ...
    if still_holds(rules.get(flag.rule_id), visible):          # what a partnership may see
        why = explain(flag, visible, rules.get(flag.rule_id), allowed_fields)
    window = expire(rules, window, now)                        # drop what no flag needs

Pure domain logic: no I/O, no faust, no clock (``now`` is always passed in).
"""

from hub.flags.contribution import Contribution, contribution_of
from hub.flags.engine import (
    at_least,
    episodes_of,
    evaluate,
    expire,
    floored,
    late_floor,
    states,
)
from hub.flags.explain import ExplainedEvent, Explanation, describe, explain
from hub.flags.match import Episode, episodes, holds, qualifying, still_holds
from hub.flags.state import EventRef, FlagState, Status, flag_id, revision
from hub.flags.transition import Transition, transition, transitions
from hub.flags.window import SubjectWindow

__all__ = [
    "Contribution",
    "Episode",
    "EventRef",
    "ExplainedEvent",
    "Explanation",
    "FlagState",
    "Status",
    "SubjectWindow",
    "Transition",
    "at_least",
    "contribution_of",
    "describe",
    "episodes",
    "episodes_of",
    "evaluate",
    "expire",
    "explain",
    "flag_id",
    "floored",
    "holds",
    "late_floor",
    "qualifying",
    "revision",
    "states",
    "still_holds",
    "transition",
    "transitions",
]
