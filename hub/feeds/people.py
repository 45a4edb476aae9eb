"""Synthetic young people, so that replays of person-free public data have subjects.

The police open data has no people in it. To exercise person-level correlation, every replayed
row is attached to one of a fixed pool of invented young people per council, chosen by a hash
of the row's id: the same file always gives the same attachments. The identities are made up
(names from a short list, dates of birth in range), and only ever enter the hub as linkage
tokens derived by the agency SDK.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

GIVEN = ("Alex", "Jordan", "Sam", "Casey", "Riley", "Taylor", "Morgan", "Jamie", "Charlie", "Robin")
FAMILY = (
    "Smith",
    "Jones",
    "Khan",
    "Williams",
    "Brown",
    "Patel",
    "Taylor",
    "Davies",
    "Evans",
    "Ali",
)


@dataclass(frozen=True, slots=True)
class Person:
    """An invented young person: the direct identifiers an agency system would hold."""

    given_name: str
    family_name: str
    date_of_birth: date
    postcode: str

    def age_on(self, day: date) -> int:
        """Age in whole years on ``day``."""
        years = day.year - self.date_of_birth.year
        before_birthday = (day.month, day.day) < (self.date_of_birth.month, self.date_of_birth.day)
        return years - int(before_birthday)


def person(council: str, index: int, reference_day: date) -> Person:
    """The ``index``-th invented person of a council, aged 10 to 24 on ``reference_day``."""
    digest = hashlib.sha256(f"{council}|{index}".encode()).digest()
    age_days = 365 * 10 + int.from_bytes(digest[2:4], "big") % (365 * 14)
    return Person(
        given_name=GIVEN[digest[0] % len(GIVEN)],
        family_name=FAMILY[digest[1] % len(FAMILY)],
        date_of_birth=reference_day - timedelta(days=age_days),
        postcode=f"RG{digest[4] % 40 + 1} {digest[5] % 9 + 1}{'ABDEFGHJ'[digest[6] % 8]}"
        f"{'LNPQRSTU'[digest[7] % 8]}",
    )


def pick(seed: str, pool_size: int) -> int:
    """A stable index in ``range(pool_size)`` for ``seed``."""
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") % pool_size
