"""Avro event contracts on the wire: single-object encoding, the schema store, evolution checks.

::

    store = SchemaStore.load(Path("schemas"))
    data = store.encode("police.arrest", record)        # C3 01 + fingerprint + body
    event = store.decode(data)                          # DecodeError / UnknownSchemaError only
"""

from hub.codec.catalogue import SchemaFile, SubjectRule, load_catalogue
from hub.codec.fields import FieldInfo, Sensitivity
from hub.codec.fingerprint import canonical_form, crc64_avro, fingerprint
from hub.codec.single_object import MAX_MESSAGE_SIZE, decode_with, encode_with
from hub.codec.store import DecodedEvent, SchemaStore

__all__ = [
    "MAX_MESSAGE_SIZE",
    "DecodedEvent",
    "FieldInfo",
    "SchemaFile",
    "SchemaStore",
    "Sensitivity",
    "SubjectRule",
    "canonical_form",
    "crc64_avro",
    "decode_with",
    "encode_with",
    "fingerprint",
    "load_catalogue",
]
