"""hub.merkle agrees with every transparency-dev/merkle vector in ../shared/vectors/merkle/."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from hub.errors import ProofError
from hub.merkle import MerkleTree, verify_consistency, verify_inclusion

VECTORS = Path("../shared/vectors/merkle")


def _cases(kind: str) -> list[Path]:
    return sorted((VECTORS / kind).rglob("*.json"))


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _id(path: Path) -> str:
    return str(path.relative_to(VECTORS))


def test_every_vector_is_present() -> None:
    assert len(_cases("inclusion")) == 98
    assert len(_cases("consistency")) == 98


@pytest.mark.parametrize("path", _cases("inclusion"), ids=_id)
def test_inclusion_vector(path: Path) -> None:
    case = _load(path)
    proof = [_b64(p) for p in case["proof"] or []]

    def check() -> None:
        verify_inclusion(
            _b64(case["leafHash"]), case["leafIdx"], case["treeSize"], proof, _b64(case["root"])
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("path", _cases("consistency"), ids=_id)
def test_consistency_vector(path: Path) -> None:
    case = _load(path)
    proof = [_b64(p) for p in case["proof"] or []]

    def check() -> None:
        verify_consistency(
            case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"])
        )

    if case["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


# The vectors' trees are built from RFC 6962's eight test leaves; rebuilding them from those
# leaves checks the proof *generator* too, not only the verifier.
RFC6962_LEAVES = (
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
)


def _rfc6962_tree() -> MerkleTree:
    tree = MerkleTree()
    for leaf in RFC6962_LEAVES:
        tree.append(leaf)
    return tree


@pytest.mark.parametrize("path", sorted(VECTORS.glob("inclusion/[0-9]/happy-path.json")), ids=_id)
def test_generator_reproduces_inclusion_vector(path: Path) -> None:
    case = _load(path)
    tree = _rfc6962_tree()
    size, index = case["treeSize"], case["leafIdx"]
    assert tree.leaf_hash(index) == _b64(case["leafHash"])
    assert tree.root(size) == _b64(case["root"])
    assert list(tree.inclusion_proof(index, size)) == [_b64(p) for p in case["proof"] or []]


@pytest.mark.parametrize("path", sorted(VECTORS.glob("consistency/[0-9]/happy-path.json")), ids=_id)
def test_generator_reproduces_consistency_vector(path: Path) -> None:
    case = _load(path)
    tree = _rfc6962_tree()
    size1, size2 = case["size1"], case["size2"]
    assert tree.root(size1) == _b64(case["root1"])
    assert tree.root(size2) == _b64(case["root2"])
    assert list(tree.consistency_proof(size1, size2)) == [_b64(p) for p in case["proof"] or []]
