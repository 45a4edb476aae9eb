"""The public-health view: aggregate counts for a strategic needs assessment, released safely.

- :mod:`hub.sna.count`: which accepted events count (the agreements decide, for the purpose
  ``strategic_needs_assessment``), by council, LSOA, month, event type, agency and age band;
- :mod:`hub.sna.stream`: those counts kept by the correlate agent, one table row per accepted
  partition, day and cell, counting distinct event ids (idempotent under redelivery, and an
  event accepted twice counts once);
- :mod:`hub.sna.snapshot` and :mod:`hub.sna.changelog`: the rows read back from the table's
  changelog, authenticated, with the cut-off they cover (what a release is built from);
- :mod:`hub.sna.disclosure`: primary and secondary suppression, and rounding;
- :mod:`hub.sna.tables`: the release's linked tables, protected together;
- :mod:`hub.sna.release`: the signed release, its ledger record and its re-derivation;
- :mod:`hub.sna.report`: the HTML report, from released figures only.
"""

from hub.models.accepted import Located
from hub.sna.count import AGE_BANDS, Cell, CountContext, Counted, Period, age_band, count
from hub.sna.disclosure import THRESHOLD, TOTAL, Protected, protect
from hub.sna.release import (
    RECORD_KIND,
    Query,
    Release,
    build_release,
    guard_differencing,
    is_release_record,
    rederive,
    verify_release,
)
from hub.sna.tables import Control, linked_tables

__all__ = [
    "AGE_BANDS",
    "RECORD_KIND",
    "THRESHOLD",
    "TOTAL",
    "Cell",
    "Control",
    "CountContext",
    "Counted",
    "Located",
    "Period",
    "Protected",
    "Query",
    "Release",
    "age_band",
    "build_release",
    "count",
    "guard_differencing",
    "is_release_record",
    "linked_tables",
    "protect",
    "rederive",
    "verify_release",
]
