"""Test builders refuse names they do not know.

A builder that takes ``**overrides`` and quietly drops (or quietly encodes nothing for) a name
it does not know lets a test believe it set something it did not: an event "ten days ago"
that keeps its default date, a field the Avro writer never writes. Every such builder passes
its overrides through :func:`known_only` first.
"""

from __future__ import annotations

from collections.abc import Iterable


def known_only(given: Iterable[str], known: Iterable[str], builder: str) -> None:
    """Raise ``TypeError`` naming every key of ``given`` that ``builder`` does not know."""
    allowed = set(known)
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TypeError(
            f"{builder}() got unknown key(s) {', '.join(map(repr, unknown))}; "
            f"it knows {', '.join(sorted(allowed))}"
        )
