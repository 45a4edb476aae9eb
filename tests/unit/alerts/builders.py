"""Alert bodies and keys for tests: fixed keys, realistic minimised content."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hub.alerts import AlertBody, AlertKind, ContributingEvent, RuleRef
from hub.crypto import HmacKey, HpkePrivateKey, SigningKey
from hub.pseudonym import PersonIdentity, linkage_token, pseudonym

HUB = SigningKey.from_raw(b"\x11" * 32)
OTHER_HUB = SigningKey.from_raw(b"\x12" * 32)
READING = HpkePrivateKey.from_raw(b"\x21" * 32)
SLOUGH = HpkePrivateKey.from_raw(b"\x22" * 32)
LINKAGE = HmacKey(b"\x31" * 32)
READING_PSEUDONYM = HmacKey(b"\x32" * 32)
DECIDED = datetime(2024, 5, 6, 9, 30, 12, 345000, tzinfo=UTC)

TOKEN = linkage_token(PersonIdentity("Jordan", "Smith", "2008-03-01", "RG1 1AA"), LINKAGE)
SUBJECT = pseudonym(TOKEN, READING_PSEUDONYM).text


def sample_body(alert_id: str = "al-0001", kind: AlertKind = AlertKind.RAISED) -> AlertBody:
    """A flag from three agencies' events, as the Reading partnership may see it."""
    return AlertBody(
        alert_id=alert_id,
        kind=kind,
        flag_id="fl-7d2a",
        rule=RuleRef(
            "missing-exploitation-police",
            2,
            "Missing, exploitation screening and police contact",
            "A missing episode, an exploitation screening and a police contact within 90 days.",
        ),
        severity="high",
        subject=SUBJECT,
        window_start=date(2024, 2, 10),
        window_end=date(2024, 5, 9),
        events=(
            ContributingEvent("police.missing_episode", "police", date(2024, 2, 12)),
            ContributingEvent(
                "csc.exploitation_screening",
                "childrens-social-care",
                date(2024, 3, 30),
                {"outcome": "concern", "screening_tool": "cse"},
            ),
            ContributingEvent(
                "police.violent_incident", "police", date(2024, 5, 4), {"role": "victim"}
            ),
        ),
        ask=("police", "childrens-social-care", "police"),
        agreements=("tv-vru-core@3", "csc-exploitation@1.2"),
        decided_at=DECIDED,
    )
