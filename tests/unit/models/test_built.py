"""Models built without validation are the models validation builds (hub.models.built)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from hub.consent import ConsentLedger
from hub.flags import Contribution, SubjectWindow
from hub.flags.state import EventRef, FlagState, Status
from hub.models.built import built, built_whole, replaced, replaced_one

AT = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def _contribution(event_id: str = "e1") -> Contribution:
    return Contribution(
        event_id=event_id,
        event_type="police.arrest",
        agency_id="police",
        occurred_at=AT,
        council="reading",
        lsoa="E01016372",
        age=15,
        fields={"offence": "violence", "tags": ("a", "b"), "n": 3, "flag": True},
    )


def test_built_equals_the_validated_model() -> None:
    validated = _contribution()
    fast = built(Contribution, dict(validated.__dict__))
    assert fast == validated
    assert fast.model_dump_json() == validated.model_dump_json()
    assert fast.model_fields_set == validated.model_fields_set
    assert hash(EventRef.of(fast)) == hash(EventRef.of(validated))


def test_built_flag_state_dumps_as_a_validated_one() -> None:
    ref = EventRef.of(_contribution())
    values = {
        "flag_id": "f" * 32,
        "revision": "r" * 16,
        "rule_id": "county-lines",
        "rule_version": 2,
        "severity": "high",
        "base_severity": "medium",
        "status": Status.ACTIVE,
        "window_start": AT,
        "window_end": AT,
        "events": (ref,),
    }
    assert built(FlagState, dict(values)).model_dump_json() == (
        FlagState(**values).model_dump_json()
    )


def test_replaced_equals_model_copy() -> None:
    window = SubjectWindow(contributions=(_contribution("e1"),), floors={"r": AT})
    update = {"contributions": (_contribution("e0"), _contribution("e1"))}
    copied = window.model_copy(update=update)
    fast = replaced(window, **update)
    assert fast == copied
    assert fast.model_dump_json() == copied.model_dump_json()
    assert fast.model_fields_set == copied.model_fields_set
    assert window.contributions == (_contribution("e1"),)  # the original is untouched


def test_replaced_keeps_private_attributes_through_model_copy() -> None:
    ledger = ConsentLedger()
    copied = replaced(ledger, ends={})
    assert copied == ledger.model_copy(update={"ends": {}})
    assert copied.__pydantic_private__ is not None


class _Open(BaseModel):
    """A model that is not frozen: pydantic adds to its fields set on assignment."""

    a: int = 0
    b: int = 0


def test_a_frozen_models_instances_share_one_fields_set_of_every_field() -> None:
    """Built with every field (as the hub builds them), frozen models share their fields set:
    one set fewer to allocate, and for the collector to walk, per model."""
    first = built(Contribution, dict(_contribution("e1").__dict__))
    second = built(Contribution, dict(_contribution("e2").__dict__))
    assert first.__pydantic_fields_set__ is second.__pydantic_fields_set__
    assert first.model_fields_set == set(Contribution.model_fields)
    moved = replaced(first, age=16)
    assert moved.__pydantic_fields_set__ is first.__pydantic_fields_set__
    partial = built(Contribution, {"event_id": "e3"})  # not every field: a set of its own
    assert partial.model_fields_set == {"event_id"}
    assert partial.__pydantic_fields_set__ is not first.__pydantic_fields_set__


def test_a_model_that_is_not_frozen_keeps_a_fields_set_of_its_own() -> None:
    """Assignment adds to a mutable model's fields set in place: shared, it would change
    every other instance's."""
    first, second = built(_Open, {"a": 1, "b": 2}), built(_Open, {"a": 3, "b": 4})
    assert first.__pydantic_fields_set__ is not second.__pydantic_fields_set__
    fresh = built(_Open, {"a": 1})
    fresh.b = 5
    assert fresh.model_fields_set == {"a", "b"}
    assert built(_Open, {"a": 1}).model_fields_set == {"a"}
    original = built(_Open, {"a": 1, "b": 2})
    copied = replaced(original, b=3)
    assert copied.__pydantic_fields_set__ is not original.__pydantic_fields_set__
    widened = replaced(built(_Open, {"a": 1}), b=2)
    assert widened.model_fields_set == {"a", "b"}


class _Frozen(BaseModel):
    """A frozen model no other test builds: its first instance is built by built_whole."""

    model_config = ConfigDict(frozen=True)

    a: int = 0
    b: int = 0


def test_built_whole_is_built_for_every_field_named() -> None:
    """The caller vouches that every field is named: the model is the one built() makes,
    sharing the frozen class's fields set, the first instance of its class too."""
    first = built_whole(_Frozen, {"a": 1, "b": 2})
    assert first == _Frozen(a=1, b=2)
    assert first.model_dump_json() == _Frozen(a=1, b=2).model_dump_json()
    assert first.model_fields_set == {"a", "b"}
    second = built_whole(_Frozen, {"a": 3, "b": 4})
    assert second.__pydantic_fields_set__ is first.__pydantic_fields_set__
    assert second.__pydantic_extra__ is None
    assert second.__pydantic_private__ is None
    validated = _contribution()
    fast = built_whole(Contribution, dict(validated.__dict__))
    assert fast == validated
    assert fast.model_dump_json() == validated.model_dump_json()
    assert (
        fast.__pydantic_fields_set__
        is built(Contribution, dict(validated.__dict__)).__pydantic_fields_set__
    )


def test_built_whole_of_a_model_that_is_not_frozen_gives_it_its_own_fields_set() -> None:
    first, second = built_whole(_Open, {"a": 1, "b": 2}), built_whole(_Open, {"a": 3, "b": 4})
    assert first.model_fields_set == {"a", "b"}
    assert first.__pydantic_fields_set__ is not second.__pydantic_fields_set__


def test_replaced_one_is_replaced_of_one_field() -> None:
    """The same model as ``replaced`` and ``model_copy`` give, field for field, fields set
    and JSON: of a window with every field set (shared set), one with some (a default
    window grown), a model that is not frozen, and one with private attributes (copied by
    pydantic); the original untouched."""
    grown = (_contribution("e0"), _contribution("e1"))
    cases: list[tuple[BaseModel, str, object]] = [
        (built(SubjectWindow, {"contributions": (), "floors": {"r": AT}}), "contributions", grown),
        (SubjectWindow(), "contributions", grown),
        (SubjectWindow(contributions=grown[:1]), "floors", {"r": AT}),
        (built(_Open, {"a": 1}), "b", 2),
        (built(_Open, {"a": 1, "b": 2}), "a", 3),
        (ConsentLedger(), "ends", {}),
    ]
    for model, name, value in cases:
        before = (dict(model.__dict__), set(model.model_fields_set))
        fast = replaced_one(model, name, value)
        copied = model.model_copy(update={name: value})
        assert type(fast) is type(copied)
        assert fast.__dict__ == copied.__dict__
        assert list(fast.__dict__) == list(copied.__dict__)  # the fields in their order
        assert fast.model_fields_set == copied.model_fields_set
        assert fast.model_dump_json() == copied.model_dump_json()
        assert fast.__pydantic_private__ == copied.__pydantic_private__
        assert fast.__pydantic_extra__ == copied.__pydantic_extra__
        assert (dict(model.__dict__), set(model.model_fields_set)) == before
        if not model.model_config.get("frozen", False):
            assert fast.__pydantic_fields_set__ is not model.__pydantic_fields_set__


def test_replaced_one_of_a_model_that_is_not_frozen_keeps_its_fields_set_apart() -> None:
    """Assigning to the copy of a mutable model adds to the copy's fields set alone."""
    original = built(_Open, {"a": 1, "b": 2})
    copied = replaced_one(original, "a", 5)
    copied.b = 7
    assert original.model_fields_set == {"a", "b"}
    partial = built(_Open, {"a": 1})
    moved = replaced_one(partial, "a", 2)
    moved.b = 3
    assert partial.model_fields_set == {"a"}
    assert moved.model_fields_set == {"a", "b"}
