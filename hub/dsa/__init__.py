"""Data-sharing agreements as code: documents, checks, versioned history and decisions.

::

    loaded = load_directory(Path("deploy/agreements"))
    book = AgreementBook.from_agreements(a for _, a in loaded.agreements)
    evaluator = Evaluator(book, registry)
    decision = evaluator.decide(facts, "reading", at, consent=ConsentBook(grants))
    payload = project(facts, decision)          # only the allowed fields, or {} when denied

Pure domain logic: no I/O besides the loader, no faust. Workers receive agreement versions
as :func:`encode_agreement_message` bytes and fold them in with :meth:`AgreementBook.apply`.
"""

from hub.dsa.book import (
    AgreementBook,
    Publication,
    agreement_digest,
    decode_agreement_message,
    decode_record,
    encode_agreement_message,
)
from hub.dsa.catalog import Catalog, CatalogField, FieldLike, catalog_of
from hub.dsa.check import CheckReport, Finding, check_directory, check_loaded
from hub.dsa.decision import Clause, Decision, FlagDecision, project
from hub.dsa.document import (
    AgeScope,
    Agreement,
    Contact,
    DataItem,
    FieldItem,
    LawfulBasis,
    Prohibition,
    Provider,
    Recipient,
    Signatory,
)
from hub.dsa.evaluate import Evaluator
from hub.dsa.facts import (
    NO_CONSENT,
    ConsentBook,
    ConsentGrant,
    ConsentRef,
    ConsentView,
    EventFacts,
    facts_from_record,
)
from hub.dsa.loader import Loaded, ParseProblem, load_agreement, load_directory, parse_agreement
from hub.dsa.odrl import to_odrl
from hub.dsa.suspension import Action, Party, Suspension, encode_suspension_message
from hub.dsa.vocabulary import DenialReason, Level, Outcome, Purpose, Sensitivity

__all__ = [
    "NO_CONSENT",
    "Action",
    "AgeScope",
    "Agreement",
    "AgreementBook",
    "Catalog",
    "CatalogField",
    "CheckReport",
    "Clause",
    "ConsentBook",
    "ConsentGrant",
    "ConsentRef",
    "ConsentView",
    "Contact",
    "DataItem",
    "Decision",
    "DenialReason",
    "Evaluator",
    "EventFacts",
    "FieldItem",
    "FieldLike",
    "Finding",
    "FlagDecision",
    "LawfulBasis",
    "Level",
    "Loaded",
    "Outcome",
    "ParseProblem",
    "Party",
    "Prohibition",
    "Provider",
    "Publication",
    "Purpose",
    "Recipient",
    "Sensitivity",
    "Signatory",
    "Suspension",
    "agreement_digest",
    "catalog_of",
    "check_directory",
    "check_loaded",
    "decode_agreement_message",
    "decode_record",
    "encode_agreement_message",
    "encode_suspension_message",
    "facts_from_record",
    "load_agreement",
    "load_directory",
    "parse_agreement",
    "project",
    "to_odrl",
]
