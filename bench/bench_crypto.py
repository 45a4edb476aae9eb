"""Per-event costs of the crypto building blocks on this machine; prints figures, asserts nothing.

Run: ``.venv/bin/python bench/bench_crypto.py [--events N]``.
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections.abc import Callable

from hub.crypto import HmacKey, HpkePrivateKey, SealVerifier, SigningKey, alert_info, seal_batch
from hub.pseudonym import NationalIdentity, Token, linkage_token, pseudonym

EVENT_SIZE = 600


def _rate(label: str, count: int, run: Callable[[], None]) -> float:
    """Run once, print per-item cost and rate, return the rate."""
    start = time.perf_counter()
    run()
    elapsed = time.perf_counter() - start
    print(f"{label:<52} {elapsed / count * 1e6:9.2f} µs/op {count / elapsed:12,.0f} op/s")
    return count / elapsed


def bench_signatures(n: int) -> None:
    key = SigningKey.generate()
    events = [os.urandom(EVENT_SIZE) for _ in range(n)]
    signatures = [key.sign(e) for e in events]
    verify = key.verify_key.verify
    _rate("Ed25519 verify, one signature per event", n, lambda: _each(verify, signatures, events))
    for size in (1, 16, 64, 256):
        sealed = _sealed(key, events, size)
        verifier = SealVerifier({"police": [key.verify_key]}, cache_size=1024)
        _rate(
            f"batch seal verify (decode+proof+cache), batch={size}",
            len(sealed),
            functools.partial(_verify_all, verifier, sealed),
        )
    _rate("batch seal signing (agency side), batch=256", n, lambda: _sign_all(key, events, 256))


def _sealed(key: SigningKey, events: list[bytes], size: int) -> list[tuple[bytes, bytes]]:
    """Every event with its seal header, signed in batches of ``size``."""
    out: list[tuple[bytes, bytes]] = []
    for i in range(0, len(events), size):
        batch = events[i : i + size]
        out.extend(
            (e, s.to_bytes()) for e, s in zip(batch, seal_batch(batch, key, "police"), strict=True)
        )
    return out


def _sign_all(key: SigningKey, events: list[bytes], size: int) -> None:
    for i in range(0, len(events), size):
        seal_batch(events[i : i + size], key, "police")


def _each(verify: Callable[[bytes, bytes], None], sigs: list[bytes], msgs: list[bytes]) -> None:
    for sig, msg in zip(sigs, msgs, strict=True):
        verify(sig, msg)


def _verify_all(verifier: SealVerifier, sealed: list[tuple[bytes, bytes]]) -> None:
    for event, header in sealed:
        verifier.verify(event, header)


def bench_hpke(n: int) -> None:
    key = HpkePrivateKey.generate()
    public, body = key.public_key, os.urandom(1024)
    infos = [alert_info("reading", f"alert-{i}") for i in range(n)]
    sealed: list[bytes] = []
    _rate("HPKE seal, 1 KiB", n, lambda: sealed.extend(public.seal(body, i) for i in infos))
    _rate("HPKE open, 1 KiB", n, lambda: _open_all(key, sealed, infos))


def _open_all(key: HpkePrivateKey, sealed: list[bytes], infos: list[bytes]) -> None:
    for ciphertext, info in zip(sealed, infos, strict=True):
        key.open(ciphertext, info)


def bench_tokens(n: int) -> None:
    linkage, partnership = HmacKey.generate(), HmacKey.generate()
    people = [NationalIdentity("other", f"ID{i:08d}") for i in range(n)]
    tokens: list[Token] = []
    _rate("linkage token (normalise + HMAC)", n, lambda: _link_all(people, linkage, tokens))
    _rate("partnership pseudonym (HMAC of token)", n, lambda: _pseudonymise(tokens, partnership))
    message = os.urandom(EVENT_SIZE)
    _rate("raw HMAC-SHA256, 600 B", n, lambda: _mac_all(linkage, message, n))


def _link_all(people: list[NationalIdentity], key: HmacKey, out: list[Token]) -> None:
    out.extend(linkage_token(person, key) for person in people)


def _pseudonymise(tokens: list[Token], key: HmacKey) -> None:
    for token in tokens:
        pseudonym(token, key)


def _mac_all(key: HmacKey, message: bytes, n: int) -> None:
    for _ in range(n):
        key.mac(message)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_480)
    events = parser.parse_args().events
    print(f"{events} events of {EVENT_SIZE} B; one process, one core")
    bench_signatures(events)
    bench_hpke(max(events // 4, 1))
    bench_tokens(events)


if __name__ == "__main__":
    main()
