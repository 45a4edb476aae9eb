"""Fixtures for the agency SDK tests: the shipped schemas, fresh keys, a canary identity."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.agency import AgencyClient, AgencyKeys
from hub.codec import SchemaStore
from hub.crypto import HmacKey, SigningKey

ROOT = Path(__file__).resolve().parents[3]

#: A made-up person whose identifiers must never appear in anything the SDK produces.
CANARY = {
    "given_name": "Zebedee",
    "family_name": "Quixotic-Canary",
    "date_of_birth": "2009-02-14",
    "postcode": "RG1 7ZZ",
    "nhs_number": "943 476 5919",
}
#: Every form a canary identifier could take once normalised or reformatted.
CANARY_FORMS = (
    "zebedee",
    "quixotic",
    "canary",
    "2009-02-14",
    "14/02/2009",
    "20090214",
    "rg1 7zz",
    "rg17zz",
    "9434765919",
    "943 476 5919",
)
READING_LSOA = "E01016353"
WHEN = datetime(2024, 6, 1, 9, 30, tzinfo=UTC)


def leaks(blob: bytes | str) -> list[str]:
    """The canary forms found (case-insensitively) in ``blob``."""
    text = blob.decode("latin-1") if isinstance(blob, bytes) else blob
    return [form for form in CANARY_FORMS if form in text.lower()]


@pytest.fixture(scope="session")
def store() -> SchemaStore:
    return SchemaStore.load(ROOT / "schemas")


@pytest.fixture(scope="session")
def linkage_key() -> HmacKey:
    return HmacKey.generate()


@pytest.fixture
def keys(linkage_key: HmacKey) -> AgencyKeys:
    return AgencyKeys("education", linkage_key, SigningKey.generate())


@pytest.fixture
def client(keys: AgencyKeys, store: SchemaStore) -> AgencyClient:
    return AgencyClient(keys, store, ["education.suspension", "education.persistent_absence"])
