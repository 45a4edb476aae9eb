"""``bench_replay --history FILE``: a history written by one run is the history a later run
reads and replays (same decisions, same streams, the same report)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmods import bench_module

_history = bench_module("bench_replay")._history


def test_a_history_written_is_read_back_and_replays_alike(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "history.pickle"
    decisions, source = _history(300, saved)
    assert "history written to" in capsys.readouterr().out
    assert saved.exists()
    again, read = _history(300, saved)
    assert "history read from" in capsys.readouterr().out
    assert again == decisions
    assert len(decisions) >= 300
    assert read.accepted == source.accepted
    assert read.agreements == source.agreements
    first, second = source().replay(decisions), read().replay(again)
    assert first.ok
    assert second.entries == len(decisions)
    assert second.digest() == first.digest()


def test_without_a_file_the_history_is_generated_and_not_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    decisions, source = _history(100, None)
    out = capsys.readouterr().out
    assert "generate (correlate + dispatch)" in out
    assert "written" not in out
    assert decisions
    assert source.accepted
