"""Key directories are private (0700) and leave the directory they are made in as it was.

``create_dev_keyring`` once made a key directory's parent 0700 too: a keyring made in a
temporary directory (``bench_replay``) turned ``/tmp`` from 1777 into 0700, and every other
user of the machine (apt's sandbox among them) could no longer write there.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from hub.crypto import create_dev_keyring
from hub.crypto.keyfile import make_private_dir
from tests.unit.dsa.builders import registry


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _shared(tmp_path: Path) -> Path:
    """A directory like ``/tmp``: sticky, writable by all."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    return shared


def test_a_private_tree_leaves_the_mode_of_the_directory_it_hangs_from(tmp_path: Path) -> None:
    shared = _shared(tmp_path)
    make_private_dir(shared / "keys" / "hub", stop=shared)
    assert _mode(shared) == 0o1777
    assert _mode(shared / "keys") == _mode(shared / "keys" / "hub") == 0o700


def test_an_existing_key_directory_and_those_below_it_are_made_private(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    (keys / "hub").mkdir(parents=True)
    keys.chmod(0o755)
    (keys / "hub").chmod(0o755)
    make_private_dir(keys / "hub", stop=keys.parent)
    assert _mode(keys) == _mode(keys / "hub") == 0o700
    keys.chmod(0o755)
    make_private_dir(keys, stop=keys)  # the tree's own root, given as both
    assert _mode(keys) == 0o700


def test_a_development_keyring_made_in_a_shared_directory_leaves_it_shared(
    tmp_path: Path,
) -> None:
    shared = _shared(tmp_path)
    create_dev_keyring(shared / "keys", registry(), datetime(2026, 1, 5, tzinfo=UTC))
    assert _mode(shared) == 0o1777
    root = shared / "keys"
    assert {_mode(p) for p in root.rglob("*") if p.is_dir()} | {_mode(root)} == {0o700}
