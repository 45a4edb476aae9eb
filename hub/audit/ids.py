"""A decision's id, computed as :func:`hub.dispatch.decision_ids` computes it, from parts
replay keeps per flag and per position.

``decision_ids`` formats the decision time and the position and hashes them with the flag's
inputs digest and the partnership, for every entry. Replay already holds the inputs digest
per flag and sequence, and the time and position as text per position
(:mod:`hub.audit.lane`), so here the id is one SHA-256 over those parts. A unit test checks
that both give the same id on many inputs.
"""

from __future__ import annotations

import hashlib

_DECISION = "vru-hub/decision/v1\x00"
"""The decision id's domain, as ``hub.disclosure`` separates it."""


def decision_id_of(inputs: str, partnership_id: str, at_iso: str, where: str | None) -> str:
    """The decision id of a flag's decision (inputs digest ``inputs``) for one partnership,
    at a time written as ``datetime.isoformat`` writes it and a position written
    ``partition:offset`` (None: a decision taken at no position)."""
    text = f"{_DECISION}{inputs}\x00{partnership_id}\x00{at_iso}"
    if where is not None:
        text = f"{text}\x00{where}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def decision_text(inputs: str, partnership_id: str) -> bytes:
    """What :func:`decision_id_of` hashes before the time: the same for every decision on
    one flag's inputs for one partnership."""
    return f"{_DECISION}{inputs}\x00{partnership_id}\x00".encode()


def place_text(at_iso: str, where: str) -> bytes:
    """What :func:`decision_id_of` hashes from the time on, for a decision at a position."""
    return f"{at_iso}\x00{where}".encode()


def decision_of(text: bytes, place: bytes) -> bytes:
    """:func:`decision_id_of` from its two parts (:func:`decision_text`, :func:`place_text`),
    as the ASCII bytes of the id."""
    return hashlib.sha256(text + place).hexdigest()[:32].encode()
