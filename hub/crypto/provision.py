"""A development keyring for every agency and partnership in the registry.

Production keys are not made this way: see ``docs/keys.md`` and the README written beside the
keys.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hub.crypto.keyfile import KeyKind, make_private_dir
from hub.crypto.keyring import (
    AGENCIES,
    GOVERNANCE,
    HUB,
    Keyring,
    agency_owner,
    partnership_owner,
)
from hub.errors import KeyringError
from hub.registry import Registry

DEV_README = """\
# Development keyring: NOT for production

Made by `hub keys init`. Every key here was generated on one machine, by one person, in
plain files. That is fine for a laptop, a demo or CI, and wrong for real data.

| path | key | algorithm |
|---|---|---|
| `hub/ed25519-signing/` | the hub's signing key (alerts, decisions, tree heads) | Ed25519 |
| `hub/internal-hmac/` | the hub's internal MAC key (records only its workers read) | HMAC-SHA256 |
| `governance/ed25519-signing/` | governance's key (agreements, suspensions, markers) | Ed25519 |
| `agencies/linkage-hmac/` | the linkage key shared by the agencies | HMAC-SHA256 |
| `agency/<id>/ed25519-signing/` | each agency's feed signing key | Ed25519 |
| `partnership/<id>/x25519-hpke/` | each partnership's alert encryption key pair | X25519 HPKE |
| `partnership/<id>/pseudonym-hmac/` | each partnership's pseudonym key | HMAC-SHA256 |

Each key is a JSON file (mode 0600, directories 0700) with its key id, creation time, status
(`active` or `retiring`) and not-after time. `hub keys list DIR` shows ids and ages only.

## How production differs
- **Custody is split.** Each agency generates and keeps its own signing key (ideally in an
  HSM or cloud KMS) and gives the hub only the public key. Each partnership generates its own
  HPKE key pair and gives the hub only the public key. Nobody holds every key, as here.
- **The linkage key is held by the agencies only.** The hub never sees it: tokens are made at
  source. Distribute it under the data-sharing agreement, sealed to each agency's IT team.
- **Pseudonym keys, the hub signing key and the hub's internal MAC key live in a KMS/HSM** used
  by the hub's service identity; they are never written to a developer's disk.
- **The governance signing key is held by the VRU's information governance**, never by the
  hub's operators: the hub holds its public key only (`docs/keys.md`).
- **Rotation is scheduled** with overlap windows (`docs/keys.md`), and every change is recorded.
- Backups of secret keys are encrypted and access-logged; this directory has neither.
"""


def create_dev_keyring(
    root: Path, registry: Registry, now: datetime, *, force: bool = False
) -> Keyring:
    """Generate one key of each kind for the hub, the agencies and every partnership.

    Refuses (KeyringError) when ``root`` already holds keys, unless ``force`` replaces them.
    """
    existing = sorted(root.rglob("*.json")) if root.is_dir() else []
    if existing and not force:
        raise KeyringError(f"{root} already holds {len(existing)} keys; use --force to replace")
    for path in existing:
        path.unlink()
    root.parent.mkdir(parents=True, exist_ok=True)
    make_private_dir(root, stop=root.parent)
    keyring = Keyring(root)
    keyring.generate(HUB, KeyKind.SIGNING, now)
    keyring.generate(HUB, KeyKind.INTERNAL, now)
    keyring.generate(GOVERNANCE, KeyKind.SIGNING, now)
    keyring.generate(AGENCIES, KeyKind.LINKAGE, now)
    for agency in registry.agencies:
        keyring.generate(agency_owner(agency.id), KeyKind.SIGNING, now)
    for partnership in registry.partnerships:
        keyring.generate(partnership_owner(partnership.id), KeyKind.HPKE, now)
        keyring.generate(partnership_owner(partnership.id), KeyKind.PSEUDONYM, now)
    (root / "README.md").write_text(DEV_README, encoding="utf-8")
    return keyring
