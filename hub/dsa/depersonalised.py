"""What an s17A depersonalised-sharing agreement for a strategic needs assessment must say.

An agreement is one when its only purpose is ``strategic_needs_assessment`` or it carries a
``disclosure`` block (the controls its aggregate releases apply). Such an agreement shares
counts, never records, so it must:

- name Crime and Disorder Act 1998 s17A among its legal gateways (``s17a_gateway_missing``);
- hold area-level data items only (``sna_person_level``) and disclose no field
  (``sna_fields_disclosed``): the release carries counts alone;
- say how releases are protected, with a ``disclosure`` block (``sna_disclosure_missing``);
- not make counting depend on consent (``sna_consent_required``): counts are depersonalised;
- and a ``disclosure`` block only makes sense for the purpose (``disclosure_without_sna``).
"""

from __future__ import annotations

from collections.abc import Iterator

from hub.dsa.document import Agreement
from hub.dsa.lawful import Problem
from hub.dsa.vocabulary import LegalGateway, Level, Purpose

SNA = Purpose.STRATEGIC_NEEDS_ASSESSMENT


def is_depersonalised(agreement: Agreement) -> bool:
    """Whether the agreement is an aggregate (s17A) one, held to this module's rules."""
    return agreement.disclosure is not None or set(agreement.purposes) == {SNA}


def sna_gaps(agreement: Agreement) -> Iterator[Problem]:
    """Every rule of the module docstring the agreement breaks."""
    if agreement.disclosure is not None and SNA not in agreement.purposes:
        yield ("disclosure", "disclosure_without_sna", "a disclosure block needs the SNA purpose")
    if not is_depersonalised(agreement):
        return
    if LegalGateway.CDA_1998_S17A not in agreement.legal_gateways:
        yield (
            "legal_gateways",
            "s17a_gateway_missing",
            "must name crime_and_disorder_act_1998_s17a",
        )
    if agreement.disclosure is None:
        yield ("disclosure", "sna_disclosure_missing", "must say how releases are protected")
    for i, item in enumerate(agreement.data_items):
        where = f"data_items[{i}]"
        if item.level is not Level.AREA:
            yield (f"{where}.level", "sna_person_level", "aggregate sharing is area level only")
        if item.fields:
            yield (f"{where}.fields", "sna_fields_disclosed", "counts only: no field may flow")
        if item.consent_required:
            yield (f"{where}.consent_required", "sna_consent_required", "counts need no consent")
