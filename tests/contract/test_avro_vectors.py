"""Apache Avro's own vectors (``../shared/vectors/avro``): canonical form, fingerprint, framing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub.codec import canonical_form, decode_with, fingerprint
from hub.errors import DecodeError, UnknownSchemaError

VECTORS = Path("../shared/vectors/avro")


@dataclass(frozen=True)
class Case:
    number: str
    schema: str
    canonical: str
    fingerprint: int | None


def parse_schema_tests(text: str) -> list[Case]:
    """Parse ``schema-tests.txt``: ``// NNN`` headers, ``<<INPUT`` (one line or a heredoc to
    ``INPUT``), ``<<canonical`` and an optional signed 64-bit ``<<fingerprint``."""
    cases = []
    for number, block in re.findall(r"^// (\d{3})\s*$(.*?)(?=^// \d{3}\s*$|\Z)", text, re.M | re.S):
        lines = [line for line in block.splitlines() if not line.startswith("//")]
        body = "\n".join(lines)
        heredoc = re.search(r"^<<INPUT\n(.*?)\nINPUT$", body, re.M | re.S)
        inline = re.search(r"^<<INPUT (.*)$", body, re.M)
        source = heredoc or inline
        canonical = re.search(r"^<<canonical (.*)$", body, re.M)
        assert source is not None
        assert canonical is not None
        found = re.search(r"^<<fingerprint (-?\d+)$", body, re.M)
        cases.append(
            Case(number, source.group(1), canonical.group(1), found and int(found.group(1)))
        )
    return cases


CASES = parse_schema_tests((VECTORS / "schema-tests.txt").read_text(encoding="utf-8"))


def test_the_vector_file_holds_34_cases_26_with_fingerprints() -> None:
    assert len(CASES) == 34
    assert sum(case.fingerprint is not None for case in CASES) == 26


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.number)
def test_parsing_canonical_form(case: Case) -> None:
    assert canonical_form(json.loads(case.schema)) == case.canonical


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.fingerprint is not None], ids=lambda c: c.number
)
def test_fingerprint_reproduced(case: Case) -> None:
    got = int.from_bytes(fingerprint(json.loads(case.schema)), "little", signed=True)
    assert got == case.fingerprint


def message_v1() -> tuple[dict[str, object], bytes]:
    schema = json.loads((VECTORS / "messageV1/test_schema.avsc").read_text(encoding="utf-8"))
    return schema, (VECTORS / "messageV1/test_message.bin").read_bytes()


def test_java_single_object_message_decodes() -> None:
    schema, data = message_v1()
    assert data[2:10] == fingerprint(schema)
    assert decode_with(schema, data) == {
        "id": 42,
        "name": "Bill",
        "tags": ["dog_lover", "cat_hater"],
    }


def test_java_message_with_the_wrong_schema_is_unknown() -> None:
    schema, data = message_v1()
    other = {**schema, "name": "OtherMessage"}
    with pytest.raises(UnknownSchemaError):
        decode_with(other, data)


@pytest.mark.parametrize("cut", [0, 1, 2, 9, 10, 12, 37])
def test_java_message_truncated_is_a_decode_error(cut: int) -> None:
    schema, data = message_v1()
    with pytest.raises(DecodeError):
        decode_with(schema, data[:cut])
