"""Each feed message decoded once: the backtest's sort reads its envelope, ingest its whole.

A backtest decodes every message to order it by its event's time, then gives it to ingest,
which decodes it again. :class:`DecodedOnce` is the schema store ingest decodes with: it
hands back the record the sort decoded (once; anything else is decoded as usual).
"""

from __future__ import annotations

from hub.codec import DecodedEvent, SchemaFile, SchemaStore


class DecodedOnce(SchemaStore):
    """A schema store that remembers what :meth:`ahead` decoded until :meth:`decode` takes it."""

    def __init__(self, files: list[SchemaFile]) -> None:
        super().__init__(files)
        self._ahead: dict[bytes, DecodedEvent] = {}

    def ahead(self, data: bytes) -> DecodedEvent:
        """Decode ``data`` now, for the next :meth:`decode` of the same bytes."""
        decoded = SchemaStore.decode(self, data)
        self._ahead[data] = decoded
        return decoded

    def decode(self, data: bytes) -> DecodedEvent:
        """The record decoded ahead (taken: it is given once), else decoded now."""
        found = self._ahead.pop(data, None)
        return SchemaStore.decode(self, data) if found is None else found

    def forget(self) -> None:
        """Drop what was decoded ahead and not taken (messages the run did not process)."""
        self._ahead.clear()
