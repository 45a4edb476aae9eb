"""The agency SDK core: tokens at source, nothing raw on the wire, sealed batches that verify."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from hub.agency import SEAL_HEADER, AgencyClient, AgencyKeys, EventDraft, FeedMessage
from hub.codec import SchemaStore
from hub.crypto import HmacKey, SealVerifier, SigningKey, decode_seal, verify_seal
from hub.errors import BadSignatureError, IdentifierError, ValidationError
from hub.feeds.synthetic import synth_valid_fields
from hub.ingest import SEAL_HEADER as HUB_SEAL_HEADER
from hub.models import validate_event
from hub.pseudonym import NationalIdentity, PersonIdentity, linkage_token
from tests.unit.agency.conftest import CANARY, READING_LSOA, WHEN, leaks

CANARY_PERSON = PersonIdentity(
    CANARY["given_name"], CANARY["family_name"], CANARY["date_of_birth"], CANARY["postcode"]
)


def suspension(store: SchemaStore, ref: str, identity: object = CANARY_PERSON) -> EventDraft:
    rng = random.Random(ref)
    fields = synth_valid_fields(
        "education.suspension", store.schema("education.suspension"), rng, WHEN
    )
    return EventDraft(
        event_type="education.suspension",
        occurred_at=WHEN,
        lsoa=READING_LSOA,
        source_ref=ref,
        identity=identity,  # type: ignore[arg-type]  # tests pass both identity kinds
        fields=fields,
    )


def every_byte_string(messages: list[FeedMessage]) -> list[bytes]:
    return [b for m in messages for b in (m.key, m.value, *(k.encode() + v for k, v in m.headers))]


def test_the_seal_header_name_is_the_one_the_hub_reads() -> None:
    assert SEAL_HEADER == HUB_SEAL_HEADER


def test_no_canary_identifier_in_any_produced_byte_or_log(
    client: AgencyClient, store: SchemaStore
) -> None:
    national = NationalIdentity("nhs", CANARY["nhs_number"])
    drafts = [suspension(store, "a"), suspension(store, "b", national)]
    with capture_logs() as logs:
        messages = client.messages(drafts)
    assert len(messages) == 2
    assert all(leaks(blob) == [] for blob in every_byte_string(messages))
    assert leaks(repr(logs)) == []
    assert leaks(repr(drafts)) == []  # a draft's repr hides the identity too


def test_the_key_is_the_linkage_token_and_the_event_names_it(
    client: AgencyClient, keys: AgencyKeys, store: SchemaStore
) -> None:
    (message,) = client.messages([suspension(store, "a")])
    event = validate_event(store.decode(message.value))
    token = linkage_token(CANARY_PERSON, keys.linkage_key).text
    assert message.key == token.encode()
    assert event.subject_token == token
    assert event.envelope.agency_id == "education"
    assert event.envelope.key_id == keys.signing_key.key_id
    assert event.envelope.age == 15  # born 2009-02-14, event on 2024-06-01


def test_area_only_events_are_keyed_by_lsoa(keys: AgencyKeys, store: SchemaStore) -> None:
    health = AgencyClient(replace(keys, agency_id="health"), store, ["health.ed_assault"])
    rng = random.Random(1)
    fields = synth_valid_fields("health.ed_assault", store.schema("health.ed_assault"), rng, WHEN)
    draft = EventDraft("health.ed_assault", WHEN, READING_LSOA, "ed-1", None, fields)
    (message,) = health.messages([draft])
    assert message.key == READING_LSOA.encode()
    assert validate_event(store.decode(message.value)).subject_token is None


def test_agencies_sharing_the_linkage_key_derive_the_same_token(
    linkage_key: HmacKey, store: SchemaStore
) -> None:
    nhs = NationalIdentity("nhs", CANARY["nhs_number"])
    spaced = NationalIdentity("nhs", "9434765919")
    a = AgencyClient(AgencyKeys("education", linkage_key, SigningKey.generate()), store)
    b = AgencyClient(AgencyKeys("education", linkage_key, SigningKey.generate()), store)
    other_key = AgencyClient(
        AgencyKeys("education", HmacKey.generate(), SigningKey.generate()), store
    )
    key_a = a.messages([suspension(store, "x", nhs)])[0].key
    assert b.messages([suspension(store, "y", spaced)])[0].key == key_a
    assert other_key.messages([suspension(store, "x", nhs)])[0].key != key_a


@pytest.mark.parametrize("batch_size", [1, 3, 256])
def test_one_signature_per_batch_and_each_event_provable_alone(
    keys: AgencyKeys, store: SchemaStore, batch_size: int
) -> None:
    client = AgencyClient(keys, store, batch_size=batch_size)
    messages = client.messages([suspension(store, str(i)) for i in range(7)])
    seals = [decode_seal(m.seal) for m in messages]
    assert len({s.batch_id for s in seals}) == -(-7 // batch_size)
    assert all(s.size <= batch_size and s.agency_id == "education" for s in seals)
    for message in messages:
        verify_seal(message.value, decode_seal(message.seal), keys.signing_key.verify_key)
    verifier = SealVerifier({"education": [keys.signing_key.verify_key]})
    for message in messages:
        verifier.verify(message.value, message.seal)
    assert verifier.signature_checks == -(-7 // batch_size)


def test_a_changed_event_or_a_foreign_key_fails_verification(
    client: AgencyClient, keys: AgencyKeys, store: SchemaStore
) -> None:
    first, _ = client.messages([suspension(store, "a"), suspension(store, "b")])
    seal = decode_seal(first.seal)
    flipped = bytearray(first.value)
    flipped[-1] ^= 1
    with pytest.raises(BadSignatureError):
        verify_seal(bytes(flipped), seal, keys.signing_key.verify_key)
    with pytest.raises(BadSignatureError):
        verify_seal(first.value, seal, SigningKey.generate().verify_key)


def test_same_source_row_gives_the_same_event_id(client: AgencyClient, store: SchemaStore) -> None:
    ids = [client.prepare(suspension(store, "row-9")).event_id for _ in range(2)]
    other = client.prepare(suspension(store, "row-10")).event_id
    assert ids[0] == ids[1] != other


def test_bad_rows_become_rejects_naming_the_field_never_the_value(
    client: AgencyClient, store: SchemaStore
) -> None:
    bad_postcode = PersonIdentity("Zebedee", "Quixotic-Canary", "2009-02-14", "NOT A POSTCODE")
    foreign = replace(suspension(store, "c"), event_type="police.arrest")
    late = replace(suspension(store, "d"), recorded_at=WHEN - timedelta(days=1))
    rows = [
        (1, suspension(store, "a")),
        (2, suspension(store, "b", bad_postcode)),
        (3, foreign),
        (4, late),
        (5, ValidationError("lsoa: is required")),
        (6, suspension(store, "e")),
    ]
    (batch,) = list(client.batches(rows))
    assert len(batch.messages) == 2
    assert batch.lines == 6
    assert [(r.line, r.reason) for r in batch.rejects] == [
        (2, "invalid_identifier"),
        (3, "invalid_field"),
        (4, "invalid_field"),
        (5, "invalid_field"),
    ]
    assert batch.rejects[0].detail == "postcode: not a UK postcode"
    assert all(leaks(r.detail) == [] and "NOT A POSTCODE" not in r.detail for r in batch.rejects)


def test_batches_split_at_the_batch_size(keys: AgencyKeys, store: SchemaStore) -> None:
    client = AgencyClient(keys, store, batch_size=2)
    batches = list(client.batches((i, suspension(store, str(i))) for i in range(1, 6)))
    assert [len(b.messages) for b in batches] == [2, 2, 1]
    assert sum(b.lines for b in batches) == 5


def test_invalid_identifier_is_an_identifier_error(
    client: AgencyClient, store: SchemaStore
) -> None:
    no_name = PersonIdentity("", "Quixotic-Canary", "2009-02-14")
    with pytest.raises(IdentifierError, match="name"):
        client.prepare(suspension(store, "a", no_name))
