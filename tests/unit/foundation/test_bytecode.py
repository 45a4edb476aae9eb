"""The bytecode the first pytest process writes is what pytest and the import system load."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest
from _pytest.assertion import rewrite

from tests import bytecode

SOURCE = "def test_one():\n    x = 1\n    assert x == 2, 'differs'\n"


def test_a_rewritten_module_is_what_pytests_hook_would_load(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    source = tmp_path / "test_sample.py"
    source.write_text(SOURCE)
    bytecode.write_all(pytestconfig, [(True, source)])
    pyc = bytecode.rewritten_pyc(source)
    assert bytecode.header_matches(source, pyc)
    loaded = rewrite._read_pyc(source, pyc)
    assert loaded is not None, "pytest's hook refuses the pyc"
    assert loaded == rewrite._rewrite_test(source, pytestconfig)[1]
    namespace: dict[str, object] = {}
    exec(loaded, namespace)  # noqa: S102 - the sample module this test wrote
    with pytest.raises(AssertionError, match="assert 1 == 2"):
        namespace["test_one"]()  # type: ignore[operator]


def test_a_plain_module_is_its_compiled_source_checked_by_hash(
    tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    source = tmp_path / "helper.py"
    source.write_text("VALUE = 3\n")
    bytecode.write_all(pytestconfig, [(False, source)])
    pyc = bytecode.plain_pyc(source)
    assert bytecode.header_matches(source, pyc)
    written = marshal.loads(pyc.read_bytes()[16:])  # noqa: S302 - the pyc this test wrote
    assert written == compile("VALUE = 3\n", str(source), "exec", dont_inherit=True)


def test_an_edited_source_makes_its_pyc_stale(tmp_path: Path, pytestconfig: pytest.Config) -> None:
    source = tmp_path / "test_sample.py"
    source.write_text(SOURCE)
    bytecode.write_all(pytestconfig, [(True, source)])
    source.write_text(SOURCE.replace("x == 2", "x == 3"))
    assert not bytecode.header_matches(source, bytecode.rewritten_pyc(source))
    assert rewrite._read_pyc(source, bytecode.rewritten_pyc(source)) is None


def test_the_suites_test_modules_and_hub_are_found(pytestconfig: pytest.Config) -> None:
    rewritten, plain = bytecode.sources(pytestconfig)
    root = pytestconfig.rootpath
    assert Path(__file__).resolve() in rewritten
    assert root / "tests" / "bytecode.py" in plain
    assert root / "hub" / "__init__.py" in plain
    assert not any(path.name.startswith("test_") for path in plain)
