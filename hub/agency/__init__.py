"""The agency SDK: pseudonymise at source, build the envelope, encode.

Direct identifiers never leave the agency: :func:`to_record` turns a source event (identifiers
in clear) into an Avro record that carries only the linkage token.
"""

from hub.agency.record import to_record

__all__ = ["to_record"]
