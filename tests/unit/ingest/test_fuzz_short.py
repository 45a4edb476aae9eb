"""A short run of ``bench.fuzz_ingest``; the 1,000,000-input run is its ``--count 1000000``.

Every generator of hostile input runs; no input crashes ingest, every one is accepted only
when it may be, and every rejection carries a reason from the closed list.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hub.quarantine import REASONS

COUNT = 20_000
BENCH = Path(__file__).resolve().parents[3] / "bench" / "fuzz_ingest.py"


def _load() -> ModuleType:
    """``bench`` is not an installed package: load the module from its file."""
    spec = importlib.util.spec_from_file_location("bench_fuzz_ingest", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


FUZZ = _load()


def test_short_fuzz_run_has_no_crash() -> None:
    tally, _ = FUZZ.run(COUNT, seed=7, progress=False)
    assert tally.inputs == COUNT
    assert dict(tally.crashes) == {}
    assert set(tally.by_generator) == {name for name, _, _ in FUZZ.GENERATORS}
    assert set(tally.reasons) - {"accepted"} <= REASONS - {"internal_error"}
    assert {"event_in_future", "event_too_old", "invalid_field", "duplicate_event"} <= set(
        tally.reasons
    )
    assert {"bad_signature", "agency_mismatch", "decode_error", "unknown_schema"} <= set(
        tally.reasons
    )


def test_a_kept_corpus_gives_the_same_outcomes_run_after_run(tmp_path: Path) -> None:
    """Two runs over one ``--corpus`` meet the same keys, inputs and clock: equal outcomes.

    That is what lets a change's outcomes be compared with a base's, input for input.
    """
    first, _ = FUZZ.run(1_500, seed=11, progress=False, corpus=tmp_path, lines=True)
    again, _ = FUZZ.run(1_500, seed=11, progress=False, corpus=tmp_path, lines=True)
    other, _ = FUZZ.run(1_500, seed=12, progress=False, corpus=tmp_path)
    assert (tmp_path / FUZZ.CORPUS_FILE).exists()
    assert len(first.lines) == 1_500
    assert first.lines == again.lines
    assert first.digest.hexdigest() == again.digest.hexdigest()
    assert other.digest.hexdigest() != first.digest.hexdigest()
    # Every quarantined input's line names what was written for it.
    assert all(line.split(")")[-1].strip() for line in first.lines if "'quarantined'" in line)
