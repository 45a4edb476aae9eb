"""The test-side memo of pure searches over a shared simulated history is bounded, and right
after it starts again."""

from __future__ import annotations

from typing import cast

from tests.unit.audit.simulated import PER_SIMULATOR_MAX, Simulator, per_simulator


def test_a_per_simulator_memo_is_bounded_and_right_when_it_starts_again() -> None:
    built: list[int] = []

    @per_simulator
    def search(sim: Simulator) -> tuple[int, int]:
        built.append(id(sim))
        return (id(sim), len(built))

    sims = [cast(Simulator, object()) for _ in range(PER_SIMULATOR_MAX + 1)]
    first = [search(s) for s in sims[:PER_SIMULATOR_MAX]]
    assert [search(s) for s in sims[:PER_SIMULATOR_MAX]] == first  # kept: built once each
    assert len(built) == PER_SIMULATOR_MAX
    assert search(sims[-1])[0] == id(sims[-1])  # one more: the memo starts again
    again = search(sims[0])
    assert len(built) == PER_SIMULATOR_MAX + 2  # sims[0] was dropped, so built again
    assert again[0] == id(sims[0])
    assert search(sims[0]) is again
