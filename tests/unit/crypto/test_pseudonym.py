"""Identifier normalisation, linkage tokens and partnership pseudonyms."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.crypto import HmacKey
from hub.errors import IdentifierError
from hub.pseudonym import (
    NationalIdentity,
    PersonIdentity,
    linkage_token,
    normalise_date_of_birth,
    normalise_name,
    normalise_nhs_number,
    normalise_postcode,
    parse_token,
    pseudonym,
)

LINKAGE = HmacKey(b"L" * 32)
READING, SLOUGH = HmacKey(b"R" * 32), HmacKey(b"S" * 32)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Zoë   O'Brien ", "zoe obrien"),
        ("ZOE OBRIEN", "zoe obrien"),
        ("Smith-Jones", "smith jones"),
        ("Ｊｏｈｎ", "john"),  # full-width letters fold under NFKD  # noqa: RUF001
        ("Çağla  Straße", "cagla strasse"),
        ("St. John", "st john"),
    ],
)
def test_names_normalise(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@given(st.text(min_size=1, max_size=30))
def test_name_normalisation_is_idempotent(raw: str) -> None:
    try:
        once = normalise_name(raw)
    except IdentifierError:
        return
    assert normalise_name(once) == once


@pytest.mark.parametrize("raw", ["2008-03-01", "01/03/2008", "01-03-2008", "1.3.2008", "20080301"])
def test_dates_of_birth_become_iso(raw: str) -> None:
    assert normalise_date_of_birth(raw) == "2008-03-01"
    assert normalise_date_of_birth(date(2008, 3, 1)) == "2008-03-01"


@pytest.mark.parametrize("raw", ["31/02/2008", "yesterday", "", "1850-01-01"])
def test_bad_dates_of_birth_are_refused(raw: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        normalise_date_of_birth(raw)
    assert caught.value.field == "date_of_birth"
    assert raw not in str(caught.value) or raw == ""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("rg1 1aa", "RG1 1AA"),
        ("SL11AA", "SL1 1AA"),
        (" ox4  2jy ", "OX4 2JY"),
        ("W1A0AX", "W1A 0AX"),
    ],
)
def test_postcodes_normalise(raw: str, expected: str) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize("raw", ["RG1", "12345", "RG1 1A", "RG1 1CI"])
def test_bad_postcodes_are_refused(raw: str) -> None:
    with pytest.raises(IdentifierError):
        normalise_postcode(raw)


def test_nhs_numbers_are_checksum_validated() -> None:
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    assert normalise_nhs_number("401-023-2137") == "4010232137"
    for bad in ("9434765918", "943476591", "94347659190", "abcdefghij", "１２３４５６７８９０"):  # noqa: RUF001  # full-width digits must not pass
        with pytest.raises(IdentifierError):
            normalise_nhs_number(bad)


def test_linkage_token_is_hmac_of_the_canonical_string() -> None:
    person = PersonIdentity("Zoë", "O'Brien", "01/03/2008", "rg1 1aa")
    assert person.canonical() == "pid1|obrien|zoe|2008-03-01|RG1 1AA"
    token = linkage_token(person, LINKAGE)
    expected = hmac.new(LINKAGE.secret, person.canonical().encode(), hashlib.sha256).digest()
    assert token.digest == expected
    assert token.text.startswith(f"lt1:{LINKAGE.key_id}:")
    assert len(token.text) == 4 + 16 + 1 + 52


def test_the_same_person_written_differently_links() -> None:
    a = PersonIdentity("ZOE", "OBRIEN", "2008-03-01", "RG11AA")
    b = PersonIdentity(" zoë ", "o'brien", date(2008, 3, 1), "rg1 1aa")
    assert linkage_token(a, LINKAGE) == linkage_token(b, LINKAGE)
    nhs = NationalIdentity("NHS", "943 476 5919")
    assert nhs.canonical() == "nid1|nhs|9434765919"
    assert linkage_token(nhs, LINKAGE) == linkage_token(
        NationalIdentity("nhs", "9434765919"), LINKAGE
    )


def test_different_people_or_keys_give_different_tokens() -> None:
    person = PersonIdentity("Zoe", "Obrien", "2008-03-01")
    twin = PersonIdentity("Zac", "Obrien", "2008-03-01")
    other_key = HmacKey(b"K" * 32)
    assert linkage_token(person, LINKAGE) != linkage_token(twin, LINKAGE)
    assert linkage_token(person, LINKAGE).digest != linkage_token(person, other_key).digest


def test_pseudonyms_differ_per_partnership_and_hide_the_token() -> None:
    token = linkage_token(PersonIdentity("Zoe", "Obrien", "2008-03-01"), LINKAGE)
    reading, slough = pseudonym(token, READING), pseudonym(token, SLOUGH)
    assert reading.text.startswith(f"ps1:{READING.key_id}:")
    assert reading != slough
    assert reading.digest == hmac.new(READING.secret, token.text.encode(), hashlib.sha256).digest()
    with pytest.raises(IdentifierError):
        pseudonym(reading, SLOUGH)


def test_tokens_round_trip_and_hide_their_digest_in_repr() -> None:
    token = linkage_token(NationalIdentity("nhs", "9434765919"), LINKAGE)
    assert parse_token(token.text) == token
    assert str(token) == token.text
    assert token.text.split(":")[2] not in repr(token)


@given(st.text(max_size=80))
def test_parsing_garbage_raises_identifier_error_only(text: str) -> None:
    try:
        token = parse_token(text)
    except IdentifierError:
        return
    assert token.text == text


def test_non_canonical_token_text_is_refused() -> None:
    # 52 base32 characters carry 260 bits for a 256-bit digest: the last character holds one
    # digest bit and four zero bits, so exactly two of the 32 letters there are canonical.
    text = linkage_token(NationalIdentity("nhs", "9434765919"), LINKAGE).text
    canonical = [c for c in "abcdefghijklmnopqrstuvwxyz234567" if _parses(text[:-1] + c)]
    assert len(canonical) == 2
    assert text[-1] in canonical


def _parses(text: str) -> bool:
    try:
        parse_token(text)
    except IdentifierError:
        return False
    return True


def test_errors_never_carry_the_identifier() -> None:
    with pytest.raises(IdentifierError) as caught:
        normalise_nhs_number("9434765918")
    assert "9434765918" not in str(caught.value)
    with pytest.raises(IdentifierError) as caught_postcode:
        normalise_postcode("ZZZ ZZZ")
    assert "ZZZ" not in str(caught_postcode.value)
