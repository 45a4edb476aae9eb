"""The s17A agreement: `hub dsa check` knows what a depersonalised-sharing agreement must say."""

from __future__ import annotations

from pathlib import Path

from hub.dsa import load_directory
from hub.dsa.depersonalised import is_depersonalised, sna_gaps
from hub.dsa.vocabulary import Level

SHIPPED = Path(__file__).parents[3] / "deploy" / "agreements"


def _s17a():  # type: ignore[no-untyped-def]
    loaded = load_directory(SHIPPED)
    return next(a for _, a in loaded.agreements if a.id == "tv-s17a-needs-assessment")


def test_the_shipped_s17a_agreement_says_everything_it_must() -> None:
    agreement = _s17a()
    assert is_depersonalised(agreement)
    assert list(sna_gaps(agreement)) == []


def test_a_person_level_item_a_field_a_missing_gateway_and_block_are_each_named() -> None:
    agreement = _s17a()
    item = agreement.data_items[0].model_copy(
        update={"level": Level.PERSON, "fields": ({"name": "age"},)}
    )
    broken = agreement.model_copy(
        update={
            "legal_gateways": ("pcsc_act_2022_serious_violence_duty",),
            "disclosure": None,
            "data_items": (item, *agreement.data_items[1:]),
        }
    )
    codes = {code for _, code, _ in sna_gaps(broken)}
    assert codes == {
        "s17a_gateway_missing",
        "sna_disclosure_missing",
        "sna_person_level",
        "sna_fields_disclosed",
    }
