"""The runner counts an alert kept in plain from its body's JSON, as the whole body reads."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from hub.alerts import AlertBody, AlertKind
from hub.alerts.body import RuleRef
from hub.backtest.unsealed import counted
from hub.errors import DecodeError
from tests.unit.alerts.builders import sample_body


@pytest.mark.parametrize("kind", list(AlertKind))
def test_an_alert_is_counted_by_what_its_whole_body_says(kind: AlertKind) -> None:
    area = kind is AlertKind.AREA_RAISED
    base = sample_body()
    body = replace(base, kind=kind, subject="area:E01000001" if area else base.subject)
    for made in (body, replace(body, rule=RuleRef("", 1, "t", "e"), flag_id="fl-other")):
        whole = AlertBody.from_bytes(made.to_bytes())
        assert counted(made.to_bytes()) == (whole.rule.id, whole.flag_id, whole.kind.value)


def test_what_is_not_a_v1_body_is_refused_as_the_whole_body_refuses_it() -> None:
    doc = json.loads(sample_body().to_bytes())
    broken = [b"{", json.dumps({**doc, "format": "v0"}).encode(), b"[]"]
    broken += [json.dumps({k: v for k, v in doc.items() if k != "rule"}).encode()]
    broken += [json.dumps({**doc, "kind": "flag.unknown"}).encode()]
    for value in broken:
        with pytest.raises(DecodeError):
            AlertBody.from_bytes(value)
        with pytest.raises(DecodeError):
            counted(value)
