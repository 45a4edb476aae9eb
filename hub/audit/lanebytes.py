"""The bytes of a record the fast lane writes around its decisions (:mod:`hub.audit.lane`):
the flag's own fields, and the tail after the decisions, as ``model_dump_json`` lays them out.
"""

from __future__ import annotations

from functools import lru_cache

import orjson

from hub.audit.rederive import Basis
from hub.dispatch import ConsentRead, Position


def flag_parts_of(basis: Basis) -> tuple[bytes, bytes]:
    flag_part = b"".join(
        (
            b',"flag_id":',
            orjson.dumps(basis.flag[0]),
            b',"rule_id":',
            orjson.dumps(basis.rule.id),
            b',"rule_version":',
            orjson.dumps(basis.rule.version),
            b',"policy_sequence":',
            orjson.dumps(basis.sequence),
            b',"outcome":',
        )
    )
    events_part = b"".join(
        (
            b',"events":',
            orjson.dumps(basis.events),
            b',"inputs_digest":',
            orjson.dumps(basis.inputs),
            b',"decisions":[',
        )
    )
    return flag_part, events_part


@lru_cache(maxsize=64)
def quiet_tail(severity: str | None) -> bytes:
    """A tail's bytes after the position, for an entry that consulted and read no consent
    and names no flag or alert of the partnership."""
    return b"".join(
        (
            b',"consents":[],"severity":',
            orjson.dumps(severity),
            b',"recipient_flag_id":null,"consent_read":null}',
        )
    )


def quiet(basis: Basis) -> bytes:
    return quiet_tail(basis.severity)


def tail_bytes(
    alerted: tuple[str | None, Position | None],
    consents: tuple[object, ...],
    severity: str | None,
    own: str | None,
    read: ConsentRead | None,
) -> bytes:
    """The bytes :meth:`Forms.json_bytes` writes after the decisions' closing bracket
    (``alerted``: the alert id and the position)."""
    alert_id, position = alerted
    where = (
        b"null"
        if position is None
        else b'{"partition":%d,"offset":%d}' % (position.partition, position.offset)
    )
    listed = (
        b"[" + b",".join([c.__pydantic_serializer__.to_json(c) for c in consents]) + b"]"  # type: ignore[attr-defined]
        if consents
        else b"[]"
    )
    return b"".join(
        (
            b'],"alert_id":',
            orjson.dumps(alert_id),
            b',"position":',
            where,
            b',"consents":',
            listed,
            b',"severity":',
            orjson.dumps(severity),
            b',"recipient_flag_id":',
            orjson.dumps(own),
            b',"consent_read":',
            b"null" if read is None else read.__pydantic_serializer__.to_json(read),
            b"}",
        )
    )
