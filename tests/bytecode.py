"""Bytecode for the test processes, written once by the process that starts them.

With ``PYTHONDONTWRITEBYTECODE=1`` (set in this environment, and maybe in CI's) no process
writes a ``.pyc``: every xdist worker compiled the hub and had pytest rewrite the asserts of
every test module, and of hypothesis (a plugin, so pytest rewrites its whole package), on every
run, about half of a worker's collection. The variable stops writing, not reading. So the first
pytest process (the xdist controller, or the only process) writes them in ``pytest_configure``,
before any worker starts, and each worker only reads them.

Every file written here is a checked-hash pyc (PEP 552, the form pytest's own rewrite cache
uses): a process loads it only if the hash of the source it has now matches, whatever the file
times say (a fresh checkout, libfaketime). They go where Python and pytest look for them:
``__pycache__`` beside the source (ignored by git), or under ``sys.pycache_prefix`` if one is set.

pytest has no public call to rewrite a module without running it, so this calls the functions
its import hook calls (``_pytest.assertion.rewrite``); ``tests/unit/foundation/test_bytecode.py``
checks that pytest loads what this writes, so a pytest upgrade that changes them fails there
instead of silently slowing the suite.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import multiprocessing
import os
import py_compile
from collections.abc import Iterable
from pathlib import Path

import pytest
from _pytest.assertion import rewrite

# The trees the tests import by plain import (not rewritten): the hub and its faust adapters,
# the benchmarks some tests run, and the helper modules beside the tests.
PLAIN_TREES = ("hub", "agents", "bench", "tests")


def header_matches(source: Path, pyc: Path) -> bool:
    """Whether *pyc* is a checked-hash pyc of *source* as it is now (the check imports make)."""
    try:
        with pyc.open("rb") as file:
            header = file.read(16)
        data = source.read_bytes()
    except OSError:
        return False
    expected = importlib.util.MAGIC_NUMBER + b"\x03\x00\x00\x00"
    return header == expected + importlib.util.source_hash(data)[:8]


def rewritten_pyc(source: Path) -> Path:
    """Where pytest's import hook reads and writes the rewritten code of *source*."""
    return rewrite.get_cache_dir(source) / (source.name[:-3] + rewrite.PYC_TAIL)


def plain_pyc(source: Path) -> Path:
    """Where the import system reads the bytecode of *source*."""
    return Path(importlib.util.cache_from_source(str(source)))


def sources(config: pytest.Config) -> tuple[list[Path], list[Path]]:
    """The modules pytest rewrites and the ones imported plainly, under the rootdir's trees."""
    root = config.rootpath
    patterns = [*config.getini("python_files"), "conftest.py"]
    hook = config.stash[rewrite.assertstate_key].hook
    assert hook is not None, "assertion rewriting is off (--assert=plain)"
    rewritten = {Path(path).resolve() for path in hook._rewritten_names.values()}
    plain: list[Path] = []
    for tree in PLAIN_TREES:
        for path in sorted((root / tree).rglob("*.py")):
            if any(fnmatch.fnmatch(path.name, pattern) for pattern in patterns):
                rewritten.add(path.resolve())
            else:
                plain.append(path)
    return sorted(rewritten), plain


# The config the forked writers inherit from the process that forks them.
_forked: dict[str, pytest.Config] = {}


def write(job: tuple[bool, Path]) -> None:
    """Write one pyc: pytest's rewrite of the module, or its plain bytecode."""
    rewritten, source = job
    try:
        if rewritten:
            config = _forked["config"]
            source_hash, code = rewrite._rewrite_test(source, config)
            pyc = rewritten_pyc(source)
            if rewrite.try_makedirs(pyc.parent):
                rewrite._write_pyc(config.stash[rewrite.assertstate_key], code, source_hash, pyc)
        else:
            py_compile.compile(
                str(source),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            )
    except (OSError, SyntaxError, py_compile.PyCompileError):
        # A read-only tree or a module that does not compile: the process that imports it
        # compiles it itself, and reports the error where the test is.
        return


def stale(config: pytest.Config) -> list[tuple[bool, Path]]:
    """The modules whose pyc is missing or was made from another source."""
    rewritten, plain = sources(config)
    jobs = [(True, path) for path in rewritten if not header_matches(path, rewritten_pyc(path))]
    jobs += [(False, path) for path in plain if not header_matches(path, plain_pyc(path))]
    return jobs


def write_all(config: pytest.Config, jobs: Iterable[tuple[bool, Path]]) -> None:
    """Write the pycs of *jobs*, on every CPU this process may use when there are many."""
    jobs = list(jobs)
    _forked["config"] = config
    cpus = len(os.sched_getaffinity(0))
    try:
        if cpus > 1 and len(jobs) > 20:
            with multiprocessing.get_context("fork").Pool(cpus) as pool:
                pool.map(write, jobs, chunksize=4)
        else:
            for job in jobs:
                write(job)
    finally:
        _forked.clear()


def warm(config: pytest.Config) -> None:
    """In the process that starts the others, write the pycs the test processes will read."""
    if hasattr(config, "workerinput") or config.getoption("assertmode") != "rewrite":
        return
    write_all(config, stale(config))
