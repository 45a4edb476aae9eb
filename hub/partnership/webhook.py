"""POSTing alert records to a partnership's webhook, with an HMAC header and patient retries.

The body is the record's JSON form (``AlertRecord.to_json``: headers and base64 value, still
encrypted to the partnership and signed by the hub), as canonical JSON. ``X-VRU-Signature:
sha256=<hex>`` is HMAC-SHA256 of the exact body under the shared webhook secret, like GitHub's
``X-Hub-Signature-256``. A 2xx is success. A connection error, a timeout, a 5xx or a 429 is
retried for ever with exponential backoff and jitter; any other status (a 3xx or a 4xx) is a
permanent refusal: :class:`~hub.errors.WebhookRejectedError`, and the caller stops. This
module is the one place where aiohttp's errors are translated.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

import aiohttp
import structlog

from hub.errors import WebhookRejectedError, WebhookUnavailableError

SIGNATURE_HEADER = "X-VRU-Signature"
_OK = range(200, 300)
_TOO_MANY = 429
_SERVER = 500


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with "equal jitter": half the delay fixed, half random."""

    base_s: float = 0.5
    cap_s: float = 60.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.cap_s, self.base_s * self.factor ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def sign_body(secret: bytes, body: bytes) -> str:
    """The ``X-VRU-Signature`` value for ``body``: ``sha256=`` and the hex HMAC."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST to make: the body, its stream position and id (for headers and errors)."""

    body: bytes
    seq: int
    event_id: str


class WebhookSender:
    """An HTTP session to one webhook URL; use as ``async with``."""

    def __init__(
        self,
        url: str,
        secret: bytes | None,
        retry: RetryPolicy | None = None,
        *,
        timeout_s: float = 15.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._url = url
        self._secret = secret
        self._retry = retry or RetryPolicy()
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._sleep = sleep
        self._rng = random.Random()  # noqa: S311  # jitter, not cryptography
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> WebhookSender:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def deliver(self, delivery: Delivery) -> int:
        """POST until the webhook accepts; return the number of attempts it took."""
        attempt = 1
        while True:
            try:
                await self.post_once(delivery)
            except WebhookUnavailableError as exc:
                wait = self._retry.delay(attempt, self._rng)
                structlog.get_logger(__name__).warning(
                    "webhook_retried",
                    seq=delivery.seq,
                    attempt=attempt,
                    problem=exc.problem,
                    wait_s=round(wait, 3),
                )
                await self._sleep(wait)
                attempt += 1
                continue
            return attempt

    async def post_once(self, delivery: Delivery) -> None:
        """One POST; WebhookUnavailableError (retry) or WebhookRejectedError (stop) on failure."""
        if self._session is None:
            raise RuntimeError("use WebhookSender with `async with`")
        try:
            async with self._session.post(
                self._url,
                data=delivery.body,
                headers=self._headers(delivery),
                allow_redirects=False,
            ) as response:
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise WebhookUnavailableError(delivery.seq, type(exc).__name__) from exc
        if status in _OK:
            return
        if status == _TOO_MANY or status >= _SERVER:
            raise WebhookUnavailableError(delivery.seq, f"HTTP {status}")
        raise WebhookRejectedError(delivery.seq, status)

    def _headers(self, delivery: Delivery) -> dict[str, str]:
        headers = {
            "Content-Type": "application/json",
            "X-VRU-Seq": str(delivery.seq),
            "X-VRU-Event-Id": delivery.event_id,
        }
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign_body(self._secret, delivery.body)
        return headers
