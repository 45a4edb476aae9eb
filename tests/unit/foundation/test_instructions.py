"""``bench.instructions`` reads cachegrind's count, and refuses a report it cannot read."""

from __future__ import annotations

import pytest

from tests.benchmods import bench_module

instructions = bench_module("instructions").instructions

SUMMARY = """==6264== Cachegrind, a high-precision tracing profiler
==6264== Collected : Ir
==6264==
==6264== I   refs:      23,657,652,371
"""


def test_the_count_is_cachegrinds_summary_line() -> None:
    assert instructions(SUMMARY) == 23_657_652_371


@pytest.mark.parametrize("report", ["", "==1== error\n", SUMMARY + SUMMARY])
def test_a_report_without_exactly_one_count_is_refused(report: str) -> None:
    with pytest.raises(ValueError, match="one 'I refs' line"):
        instructions(report)
