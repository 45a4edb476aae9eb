"""Identifier normalisation, linkage tokens and per-partnership pseudonyms.

At the agency, direct identifiers become one canonical identity string, then a **linkage
token**: HMAC-SHA256(linkage key, canonical string), written ``lt1:<key id>:<base32>``. Every
agency holding the same linkage key derives the same token for the same person, and the raw
identifiers are dropped. At the hub, each partnership sees a **pseudonym**: HMAC-SHA256
(partnership key, token text), written ``ps1:<key id>:<base32>``, so two partnerships cannot
join their data on it.

Canonical strings (version 1; both sides must use the same fields):

* by person: ``pid1|<family>|<given>|<YYYY-MM-DD>|<POSTCODE or empty>``
* by national number: ``nid1|<scheme>|<digits>`` (``nhs`` numbers are checksum-validated)

Tokens name their key, so after a linkage-key rotation old and new tokens are told apart and
the rotation period re-derives (``docs/keys.md``). Errors name the field, never the value.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from hub.crypto.secret import HmacKey
from hub.errors import IdentifierError

_DOB_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d")
_POSTCODE = re.compile(r"(GIR0AA|[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2})")
_TOKEN = re.compile(r"(lt1|ps1):([0-9a-f]{16}):([a-z2-7]{52})")
_MIN_YEAR = 1900
_APOSTROPHES = frozenset("'\u2019")  # ASCII and typographic (right single quotation mark)
_NHS_DIGITS = 10
_NO_VALID_CHECK = 10  # modulus 11 gives 10: no NHS number has these first nine digits


def normalise_name(value: str) -> str:
    """NFKD, accents stripped, casefolded, punctuation dropped, whitespace collapsed.

    Apostrophes are dropped (``O'Brien`` = ``OBrien``) and any other punctuation becomes a
    space (``Smith-Jones`` = ``Smith Jones``, ``St. John`` = ``St John``).
    """
    decomposed = unicodedata.normalize("NFKD", value)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    kept = "".join(_name_char(c) for c in letters)
    name = " ".join(kept.split())
    if not name:
        raise IdentifierError("name", "empty after normalisation")
    return name


def _name_char(char: str) -> str:
    if char.isalnum() or char.isspace():
        return char
    return "" if char in _APOSTROPHES else " "


def normalise_date_of_birth(value: str | date) -> str:
    """An ISO date (``YYYY-MM-DD``) from a date or a common UK/ISO text form."""
    if isinstance(value, datetime):
        value = value.date()
    parsed = value if isinstance(value, date) else _parse_date(value.strip())
    if parsed.year < _MIN_YEAR:
        raise IdentifierError("date_of_birth", "implausibly early")
    return parsed.isoformat()


def _parse_date(text: str) -> date:
    for fmt in _DOB_FORMATS:
        try:
            # A calendar date has no time zone to carry, hence the naive parse.
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007
        except ValueError:
            continue
    raise IdentifierError("date_of_birth", "not a recognised date")


def normalise_postcode(value: str) -> str:
    """A UK postcode in canonical form: uppercase, one space before the inward code."""
    compact = "".join(value.split()).upper()
    if _POSTCODE.fullmatch(compact) is None:
        raise IdentifierError("postcode", "not a UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"


def normalise_nhs_number(value: str) -> str:
    """Ten digits with a valid modulus-11 check digit; spaces and dashes are ignored."""
    digits = "".join(c for c in value if c not in " -")
    if not (digits.isascii() and digits.isdigit() and len(digits) == _NHS_DIGITS):
        raise IdentifierError("nhs_number", "not ten digits")
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = (11 - total % 11) % 11  # a remainder of 0 gives check digit 0
    if check == _NO_VALID_CHECK or check != int(digits[9]):
        raise IdentifierError("nhs_number", "check digit does not match")
    return digits


def normalise_national_id(scheme: str, value: str) -> str:
    """Digits and letters only, uppercased; NHS numbers are checksum-validated."""
    if scheme == "nhs":
        return normalise_nhs_number(value)
    kept = "".join(c for c in value.upper() if c.isascii() and c.isalnum())
    if not kept:
        raise IdentifierError("national_id", "empty after normalisation")
    return kept


@dataclass(frozen=True, slots=True)
class PersonIdentity:
    """Names, date of birth and (optionally) postcode, before normalisation."""

    given_name: str
    family_name: str
    date_of_birth: str | date
    postcode: str | None = None

    def canonical(self) -> str:
        """The version-1 canonical string the linkage token is made from."""
        postcode = normalise_postcode(self.postcode) if self.postcode else ""
        return "|".join(
            (
                "pid1",
                normalise_name(self.family_name),
                normalise_name(self.given_name),
                normalise_date_of_birth(self.date_of_birth),
                postcode,
            )
        )


@dataclass(frozen=True, slots=True)
class NationalIdentity:
    """A national identifier (``scheme`` ``nhs`` or another agreed scheme)."""

    scheme: str
    value: str

    def canonical(self) -> str:
        """The version-1 canonical string the linkage token is made from."""
        scheme = self.scheme.strip().lower()
        if not scheme.isascii() or not scheme.isalnum():
            raise IdentifierError("scheme", "not an agreed identifier scheme")
        return f"nid1|{scheme}|{normalise_national_id(scheme, self.value)}"


@dataclass(frozen=True, slots=True)
class Token:
    """A keyed pseudonymous token: a linkage token (``lt1``) or a pseudonym (``ps1``).

    Its repr hides the digest; only its key id is safe to log.
    """

    prefix: str
    key_id: str
    digest: bytes

    @property
    def text(self) -> str:
        """The token's text form, ``<prefix>:<key id>:<base32 digest>``."""
        b32 = base64.b32encode(self.digest).decode("ascii").rstrip("=").lower()
        return f"{self.prefix}:{self.key_id}:{b32}"

    def __repr__(self) -> str:
        return f"Token({self.prefix}, key_id={self.key_id})"

    def __str__(self) -> str:
        return self.text


def parse_token(text: str) -> Token:
    """A token from its text form; IdentifierError if it is not one."""
    match = _TOKEN.fullmatch(text)
    if match is None:
        raise IdentifierError("token", "not a token")
    prefix, key_id, b32 = match.groups()
    token = Token(prefix, key_id, base64.b32decode(b32.upper() + "===="))
    if token.text != text:
        raise IdentifierError("token", "not in canonical form")
    return token


def linkage_token(identity: PersonIdentity | NationalIdentity, key: HmacKey) -> Token:
    """HMAC-SHA256 of the identity's canonical string under the agencies' linkage key."""
    return Token("lt1", key.key_id, key.mac(identity.canonical().encode("utf-8")))


def pseudonym(token: Token, key: HmacKey) -> Token:
    """A partnership's pseudonym for a linkage token: HMAC-SHA256 of the token's text."""
    if token.prefix != "lt1":
        raise IdentifierError("token", "a pseudonym is derived from a linkage token")
    return Token("ps1", key.key_id, key.mac(token.text.encode("ascii")))
