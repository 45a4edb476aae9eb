"""One seam to Kafka: no module builds an aiokafka client, or catches aiokafka's errors, outside
``hub/transport/``. The check reads every module's syntax tree (imports inside functions too)."""

from __future__ import annotations

import ast
import unicodedata
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SEAM = ROOT / "hub" / "transport"
CLIENTS = frozenset({"AIOKafkaConsumer", "AIOKafkaProducer", "AIOKafkaAdminClient"})
#: Where aiokafka's error classes may be imported: the seam, and the unit tests of its translation.
ERRORS_ALLOWED = (SEAM, ROOT / "tests" / "unit" / "transport")


def violations(source: str, errors_allowed: bool = False) -> list[str]:
    """Every client constructor call or import, and every aiokafka error import, in ``source``.

    Imports under ``if TYPE_CHECKING:`` are annotations only and cannot build anything.
    """
    if not may_name_aiokafka(source):
        return []
    tree = ast.parse(source)
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    found: list[str] = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in CLIENTS:
                found.append(f"line {node.lineno}: builds {name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("aiokafka"):
            names = {alias.name for alias in node.names}
            if names & CLIENTS:
                found.append(f"line {node.lineno}: imports {sorted(names & CLIENTS)}")
            if not errors_allowed and (node.module == "aiokafka.errors" or "errors" in names):
                found.append(f"line {node.lineno}: imports aiokafka's errors")
        elif isinstance(node, ast.Import) and not errors_allowed:
            found += [
                f"line {node.lineno}: imports aiokafka's errors"
                for alias in node.names
                if alias.name == "aiokafka.errors"
            ]
    return found


def may_name_aiokafka(source: str) -> bool:
    """Whether ``source`` has the text every import of aiokafka and every client name holds.

    Python reads identifiers in NFKC form, so the check does too: a module without that text
    needs no syntax tree (most of them: parsing every module was most of these tests' time).
    """
    return "aiokafka" in unicodedata.normalize("NFKC", source).lower()


def modules() -> Iterator[Path]:
    for top in ("hub", "agents", "bench", "tests"):
        yield from sorted((ROOT / top).rglob("*.py"))


def test_the_checker_sees_every_way_of_building_a_client() -> None:
    samples = {
        "import aiokafka\nc = aiokafka.AIOKafkaConsumer('t')\n": 1,
        "from aiokafka import AIOKafkaProducer as P\n": 1,
        "def f():\n    from aiokafka.admin import AIOKafkaAdminClient\n": 1,
        "from aiokafka.errors import KafkaError\n": 1,
        "from aiokafka import errors\n": 1,
        "import aiokafka.errors\n": 1,
        "from aiokafka import TopicPartition\n": 0,
        "if TYPE_CHECKING:\n    from aiokafka import AIOKafkaProducer\n": 0,
        # Python reads the fullwidth letters as ASCII ones: still the client.
        "from aiokafka import \uff21IOKafkaProducer\n": 1,
        "c = k.\uff21IOKafkaConsumer('t')\n": 1,
    }
    for source, count in samples.items():
        assert len(violations(source)) == count, source


def test_no_module_outside_the_transport_seam_builds_a_kafka_client() -> None:
    checked = 0
    problems: dict[str, list[str]] = {}
    for path in modules():
        if path.is_relative_to(SEAM) or path == Path(__file__):
            continue
        allowed = any(path.is_relative_to(p) for p in ERRORS_ALLOWED)
        found = violations(path.read_text(encoding="utf-8"), errors_allowed=allowed)
        if found:
            problems[str(path.relative_to(ROOT))] = found
        checked += 1
    assert checked > 150
    assert problems == {}


def test_the_seam_builds_its_clients_in_one_module() -> None:
    builders = [
        path.name
        for path in sorted(SEAM.glob("*.py"))
        if any("builds" in v for v in violations(path.read_text(), errors_allowed=True))
    ]
    assert builders == ["clients.py"]


def imports_aiokafka(source: str) -> bool:
    """Whether ``source`` imports anything from aiokafka (at any level, typing-only included)."""
    if not may_name_aiokafka(source):
        return False
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "aiokafka":
            return True
        if isinstance(node, ast.Import) and any(
            alias.name.split(".")[0] == "aiokafka" for alias in node.names
        ):
            return True
    return False


#: faust's aiokafka driver is subclassed there (the true-end consumer): faust's own seam.
FAUST_DRIVER = ROOT / "agents" / "transport.py"


def test_the_checker_sees_every_aiokafka_import() -> None:
    assert imports_aiokafka("from aiokafka.structs import ConsumerRecord\n")
    assert imports_aiokafka("def f():\n    import aiokafka\n")
    assert not imports_aiokafka("from hub.transport import Record\n")


def test_the_hub_and_its_agents_use_aiokafka_through_the_seam_only() -> None:
    outside = [
        str(path.relative_to(ROOT))
        for top in ("hub", "agents")
        for path in sorted((ROOT / top).rglob("*.py"))
        if not path.is_relative_to(SEAM)
        and path != FAUST_DRIVER
        and imports_aiokafka(path.read_text(encoding="utf-8"))
    ]
    assert outside == []
