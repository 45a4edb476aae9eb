"""What changed about a flag between two evaluations, for the dispatcher to act on.

=============  ====================================================================
``raised``     first seen, and active
``escalated``  same flag id, new revision (an event joined, or severity rose), active
``unchanged``  same flag id and revision and status
``expired``    the window ended (first seen already expired, or active before)
``withdrawn``  an active flag the window no longer implies: an event arriving late and
               earlier than its anchor moved the window, or its rule was removed
=============  ====================================================================

Retraction for a recipient (consent withdrawn, agreement ended) is the dispatcher's call,
with :func:`hub.flags.match.still_holds` over what that recipient may still see.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from hub.errors import RuleError
from hub.flags.state import FlagState, Status


class Transition(StrEnum):
    """The change from one evaluation to the next."""

    RAISED = "raised"
    ESCALATED = "escalated"
    UNCHANGED = "unchanged"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


def transition(previous: FlagState | None, current: FlagState) -> Transition:
    """Compare a flag with its previous state (None when it was never seen)."""
    if previous is not None and previous.flag_id != current.flag_id:
        raise RuleError("transition between two different flags")
    expired = current.status is Status.EXPIRED
    if previous is None:
        return Transition.EXPIRED if expired else Transition.RAISED
    if expired:
        return Transition.UNCHANGED if previous.status is Status.EXPIRED else Transition.EXPIRED
    if previous.revision != current.revision:
        return Transition.ESCALATED
    return Transition.UNCHANGED


def transitions(
    previous: Iterable[FlagState], current: Iterable[FlagState]
) -> list[tuple[Transition, FlagState]]:
    """Every flag's transition, plus ``withdrawn`` for active ones that disappeared."""
    before = {f.flag_id: f for f in previous}
    now = {f.flag_id: f for f in current}
    changes = [(transition(before.get(i), f), f) for i, f in now.items()]
    changes += [
        (Transition.WITHDRAWN, f)
        for i, f in before.items()
        if i not in now and f.status is Status.ACTIVE
    ]
    return changes
