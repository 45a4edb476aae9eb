"""``hub registry``: onboard agencies and partnerships, list them, suspend and resume them.

- ``add-agency`` / ``add-partnership`` append the entry to the registry (comments kept), after
  checking ids, council codes against the area lookup and event types against the schemas,
  and add the party's **public** key (``--public-key FILE``, made by the party with ``hub keys
  agency|partnership init``) to the hub's keyring: an agency's Ed25519 verify key, a
  partnership's X25519 HPKE public key. The hub never receives a party's secret; for a
  partnership it generates the pseudonym key, which the hub holds (docs/keys.md).
- ``list`` shows who is onboarded, with key ids, status and ages (``--suspensions`` also reads
  the agreements topic for who is suspended now).
- ``suspend`` / ``resume`` publish a record on the agreements topic and switch markers: every
  worker applies it at the marker, without a restart (``docs/operations.md``).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from hub.cli.keys import age_text
from hub.codec import SchemaStore
from hub.config import Settings, load_settings
from hub.crypto import KeyInfo, KeyKind, Keyring, agency_owner, partnership_owner
from hub.crypto.custody import read_public_key
from hub.crypto.keyfile import make_private_dir
from hub.crypto.trust import RecordVerifier, TrustedKeys
from hub.dsa import Action, Party
from hub.errors import ConfigError, HubError
from hub.geo import AreaLookup
from hub.governance import Governance
from hub.registry import (
    Agency,
    Partnership,
    Registry,
    add_entry,
    check_known,
    load_registry,
    validation_problems,
)
from hub.transport import kafka_endpoint
from hub.transport.agreements import publish_suspension, read_agreements

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)

RegistryOption = Annotated[
    Path | None,
    typer.Option("--registry", help="registry file; default HUB_DEPLOY_DIR/registry.yaml"),
]
KeysOption = Annotated[
    Path | None, typer.Option("--keys", help="keyring directory; default HUB_KEYS_DIR")
]
PublicKeyOption = Annotated[
    Path,
    typer.Option(
        "--public-key",
        help="the public key file the party made with `hub keys agency|partnership init`",
    ),
]


def _fail(exc: HubError) -> typer.Exit:
    typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
    return typer.Exit(code=1)


def _registry_path(settings: Settings, registry: Path | None) -> Path:
    return registry or settings.deploy_dir / "registry.yaml"


def _check(settings: Settings, registry: Registry) -> None:
    lookup = AreaLookup.from_data_dir(settings.data_dir)
    councils = {c for p in registry.partnerships for c in p.councils if lookup.lsoas(c)}
    event_types = SchemaStore.load(settings.schemas_dir).event_types
    check_known(registry, councils=councils, event_types=event_types)


def _open_keyring(root: Path) -> Keyring:
    if root.is_dir():
        return Keyring.open(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    make_private_dir(root, stop=root.parent)
    return Keyring(root)


def _onboard(
    settings: Settings, path: Path, entry: Agency | Partnership, keys: Path, public_key: Path
) -> list[KeyInfo]:
    """Check the entry and the party's public key, write the entry, then add the keys."""
    current = load_registry(path)
    is_agency = isinstance(entry, Agency)
    owner = agency_owner(entry.id) if is_agency else partnership_owner(entry.id)
    if is_agency:
        proposed = current.model_copy(update={"agencies": (*current.agencies, entry)})
    else:
        proposed = current.model_copy(update={"partnerships": (*current.partnerships, entry)})
    _check(settings, Registry.model_validate(proposed.model_dump()))
    handed = read_public_key(public_key, owner, KeyKind.SIGNING if is_agency else KeyKind.HPKE)
    keyring = _open_keyring(keys)
    if any(i.owner == owner for i in keyring.infos()):
        raise ConfigError(f"the keyring already holds keys for {owner}")
    add_entry(path, "agencies" if is_agency else "partnerships", entry)
    now = datetime.now(UTC)
    infos = [keyring.add(replace(handed, created_at=now, not_before=now), None)]
    if not is_agency:  # the hub makes each partnership's pseudonyms, so it holds that key
        infos.append(keyring.generate(owner, KeyKind.PSEUDONYM, now, not_before=now))
    return infos


def _report(kind: str, entry_id: str, infos: list[KeyInfo]) -> None:
    keys = ", ".join(f"{i.kind.value} {i.key_id}" for i in infos)
    typer.echo(f"onboarded {kind} {entry_id}; keys: {keys}")
    typer.echo(
        "next: `hub topics create`, publish an agreement naming it (`hub dsa publish`), "
        "then restart workers one at a time (docs/operations.md)"
    )


@app.command("add-agency")
def add_agency(
    *,
    agency_id: Annotated[str, typer.Option("--id", help="agency id, e.g. fire-rescue")],
    name: Annotated[str, typer.Option("--name", help="the agency's name")],
    sector: Annotated[str, typer.Option("--sector", help="sector code, e.g. fire_rescue")],
    event_types: Annotated[
        list[str], typer.Option("--event-type", help="an event type it publishes; repeat")
    ],
    public_key: PublicKeyOption,
    registry: RegistryOption = None,
    keys: KeysOption = None,
) -> None:
    """Add an agency to the registry and its feed verify key (public) to the keyring."""
    settings = load_settings()
    try:
        entry = Agency(id=agency_id, name=name, sector=sector, event_types=tuple(event_types))
        path = _registry_path(settings, registry)
        infos = _onboard(settings, path, entry, keys or settings.keys_dir, public_key)
    except HubError as exc:
        raise _fail(exc) from exc
    except ValidationError as exc:
        raise _fail(ConfigError(validation_problems(exc))) from exc
    _report("agency", agency_id, infos)


@app.command("add-partnership")
def add_partnership(
    *,
    partnership_id: Annotated[str, typer.Option("--id", help="partnership id, e.g. reading")],
    name: Annotated[str, typer.Option("--name", help="the partnership's name")],
    councils: Annotated[
        list[str], typer.Option("--council", help="an ONS upper-tier council code; repeat")
    ],
    public_key: PublicKeyOption,
    registry: RegistryOption = None,
    keys: KeysOption = None,
) -> None:
    """Add a partnership to the registry, its HPKE public key to the keyring, and a pseudonym
    key the hub makes and holds."""
    settings = load_settings()
    try:
        entry = Partnership(id=partnership_id, name=name, councils=tuple(councils))
        path = _registry_path(settings, registry)
        infos = _onboard(settings, path, entry, keys or settings.keys_dir, public_key)
    except HubError as exc:
        raise _fail(exc) from exc
    except ValidationError as exc:
        raise _fail(ConfigError(validation_problems(exc))) from exc
    _report("partnership", partnership_id, infos)


def onboarded_rows(
    registry: Registry, keyring: Keyring, now: datetime, suspended: frozenset[tuple[Party, str]]
) -> list[dict[str, Any]]:
    """One row per agency and partnership with its keys (ids, kinds, status, ages)."""
    rows = []
    parties = [(Party.AGENCY, a.id, agency_owner(a.id)) for a in registry.agencies] + [
        (Party.PARTNERSHIP, p.id, partnership_owner(p.id)) for p in registry.partnerships
    ]
    infos = list(keyring.infos())
    for party, party_id, owner in parties:
        keys = [
            {
                "kind": i.kind.value,
                "key_id": i.key_id,
                "status": i.status.value,
                "age": age_text(i.age(now)),
                "not_after": i.not_after.isoformat(timespec="seconds") if i.not_after else None,
            }
            for i in infos
            if i.owner == owner
        ]
        rows.append(
            {
                "party": party.value,
                "id": party_id,
                "suspended": (party, party_id) in suspended,
                "keys": keys,
            }
        )
    return rows


@app.command("list")
def list_onboarded(
    registry: RegistryOption = None,
    keys: KeysOption = None,
    suspensions: Annotated[
        bool, typer.Option("--suspensions", help="read the agreements topic for who is suspended")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per party")] = False,
) -> None:
    """Who is onboarded: every agency and partnership, with key ids, status and ages."""
    settings = load_settings()
    try:
        loaded = load_registry(_registry_path(settings, registry))
        keyring = Keyring.open(keys or settings.keys_dir)
        barred: frozenset[tuple[Party, str]] = frozenset()
        if suspensions:
            verifier = RecordVerifier(TrustedKeys.from_keyring(keyring))
            folded = asyncio.run(
                read_agreements(kafka_endpoint(settings), settings.agreements_topic, verifier)
            )
            book = folded.book
            barred = book.up_to(book.last_sequence).suspended(datetime.now(UTC))
    except HubError as exc:
        raise _fail(exc) from exc
    for row in onboarded_rows(loaded, keyring, datetime.now(UTC), barred):
        if as_json:
            typer.echo(json.dumps(row))
            continue
        state = " SUSPENDED" if row["suspended"] else ""
        keys_text = "; ".join(
            f"{k['kind']} {k['key_id']} {k['status']} {k['age']}" for k in row["keys"]
        )
        typer.echo(f"{row['party']:<12} {row['id']:<24}{state} {keys_text or 'NO KEYS'}")


def _change(action: Action, agency: str | None, partnership: str | None, reason: str) -> None:
    if (agency is None) == (partnership is None):
        raise typer.BadParameter("name exactly one of --agency or --partnership")
    settings = load_settings()
    try:
        registry = load_registry(settings.deploy_dir / "registry.yaml")
        if agency is not None:
            target = (Party.AGENCY, registry.agency(agency).id)
        else:
            target = (Party.PARTNERSHIP, registry.partnership(str(partnership)).id)
        record = asyncio.run(
            publish_suspension(
                kafka_endpoint(settings),
                (settings.agreements_topic, settings.accepted_topic),
                target,
                (action, reason),
                datetime.now(UTC),
                governance=Governance.from_keyring(Keyring.open(settings.keys_dir)),
            )
        )
    except HubError as exc:
        raise _fail(exc) from exc
    except ValidationError as exc:  # a reason that is not a code
        raise _fail(ConfigError(validation_problems(exc))) from exc
    typer.echo(
        f"{action.value} {target[0].value} {target[1]} published as sequence {record.sequence}; "
        "workers apply it at the switch marker in each partition"
    )


ReasonOption = Annotated[
    str, typer.Option("--reason", help="a short code, e.g. breach_investigation (no free text)")
]
AgencyOption = Annotated[str | None, typer.Option("--agency", help="agency id")]
PartnershipOption = Annotated[str | None, typer.Option("--partnership", help="partnership id")]


@app.command("suspend")
def suspend(
    agency: AgencyOption = None,
    partnership: PartnershipOption = None,
    reason: ReasonOption = "suspended",
) -> None:
    """Stop every flow from an agency or to a partnership now; denials go to the ledger."""
    _change(Action.SUSPEND, agency, partnership, reason)


@app.command("resume")
def resume(
    agency: AgencyOption = None,
    partnership: PartnershipOption = None,
    reason: ReasonOption = "resumed",
) -> None:
    """Lift a suspension: every subject is re-decided at the marker, so nothing is lost."""
    _change(Action.RESUME, agency, partnership, reason)
