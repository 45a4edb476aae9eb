"""aiokafka's errors are caught in one place: ``hub/transport/failure.py`` (issue 17).

``test_seam.py`` keeps aiokafka's errors out of every module outside ``hub/transport/``; inside
it, any module may import them. This reads every module of ``hub/`` and ``agents/`` (syntax
trees, so an alias or an import inside a function counts) and lists each ``except`` clause that
names an aiokafka error class or its errors module: the one in ``translated`` is the only one.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ERROR_MODULES = frozenset({"aiokafka.errors", "kafka.errors"})


def kafka_handlers(source: str) -> list[str]:
    """``line N: <caught>`` for each ``except`` naming an aiokafka error in ``source``."""
    if "kafka" not in source.lower():
        return []
    tree = ast.parse(source)
    classes: set[str] = set()  # local names bound to an error class
    modules: set[str] = set(ERROR_MODULES)  # local (dotted) names bound to the errors module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ERROR_MODULES:
            classes |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module in ("aiokafka", "kafka"):
            modules |= {a.asname or a.name for a in node.names if a.name == "errors"}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name in ERROR_MODULES}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ExceptHandler) or node.type is None:
            continue
        for part in ast.walk(node.type):
            named = (isinstance(part, ast.Name) and part.id in classes) or (
                isinstance(part, ast.Attribute) and ast.unparse(part.value) in modules
            )
            if named:
                found.append(f"line {node.lineno}: {ast.unparse(part)}")
    return found


def test_the_checker_sees_every_way_of_naming_an_aiokafka_error() -> None:
    caught = [
        "from aiokafka.errors import KafkaError\ntry: pass\nexcept KafkaError: pass\n",
        "from aiokafka.errors import KafkaError as K\ntry: pass\nexcept (OSError, K): pass\n",
        "from aiokafka import errors as e\ntry: pass\nexcept e.KafkaTimeoutError: pass\n",
        "import aiokafka.errors\ntry: pass\nexcept aiokafka.errors.KafkaError: pass\n",
        "def f():\n    from aiokafka import errors\n    try: pass\n    except errors.X: pass\n",
    ]
    assert all(len(kafka_handlers(source)) == 1 for source in caught)
    other = "from aiokafka import errors as e\ntry: pass\nexcept OSError: pass\n"
    assert kafka_handlers(other) == []
    assert kafka_handlers("import aiokafka\ntry: pass\nexcept ValueError: pass\n") == []


def test_only_the_transport_seams_translation_catches_aiokafka_errors() -> None:
    found = [
        f"{path.relative_to(ROOT)} {where}"
        for top in ("hub", "agents")
        for path in sorted((ROOT / top).rglob("*.py"))
        for where in kafka_handlers(path.read_text(encoding="utf-8"))
    ]
    assert len(found) == 1
    assert found[0].startswith("hub/transport/failure.py ")
    assert found[0].endswith(": kafka_errors.KafkaError")
