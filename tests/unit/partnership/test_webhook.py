"""Webhook delivery: backoff bounds, HMAC header, status classes, logs free of content.

The HTTP server is a real aiohttp server on 127.0.0.1; nothing is mocked.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from hub.errors import WebhookRejectedError, WebhookUnavailableError
from hub.partnership import Delivery, RetryPolicy, WebhookSender, sign_body

SECRET = b"s3cret"
BODY = b'{"format":"vru-alert-record/v1","value_b64":"AAAA"}'


@given(st.integers(1, 40), st.integers(0, 2**32))
def test_backoff_grows_to_the_cap_with_jitter_in_the_upper_half(attempt: int, seed: int) -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=60.0)
    ceiling = min(60.0, 0.5 * 2 ** (attempt - 1))
    delay = policy.delay(attempt, random.Random(seed))
    assert ceiling / 2 <= delay <= ceiling


def test_signature_header_is_hmac_sha256_of_the_exact_body() -> None:
    expected = hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    assert sign_body(SECRET, BODY) == f"sha256={expected}"
    assert sign_body(SECRET, BODY + b" ") != sign_body(SECRET, BODY)


@pytest.fixture
async def server() -> AsyncIterator[tuple[list[int], list[dict[str, str]], str]]:
    script: list[int] = []
    seen: list[dict[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append({**request.headers, "body": body.decode()})
        return web.Response(status=script.pop(0) if script else 200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield script, seen, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


async def _no_sleep(_seconds: float) -> None:
    return


async def test_retries_5xx_and_429_then_succeeds_and_logs_no_content(
    server: tuple[list[int], list[dict[str, str]], str],
) -> None:
    script, seen, url = server
    script += [503, 429]
    with capture_logs() as logs:
        async with WebhookSender(url, SECRET, sleep=_no_sleep) as sender:
            attempts = await sender.deliver(Delivery(BODY, 7, "al-0007"))
    assert attempts == 3
    assert [s["X-VRU-Signature"] for s in seen] == [sign_body(SECRET, BODY)] * 3
    assert seen[0]["X-VRU-Seq"] == "7"
    assert [e["event"] for e in logs] == ["webhook_retried", "webhook_retried"]
    assert all("AAAA" not in str(e) for e in logs)


@pytest.mark.parametrize("status", [400, 401, 404, 409, 422, 301])
async def test_other_statuses_are_permanent(
    server: tuple[list[int], list[dict[str, str]], str], status: int
) -> None:
    script, _, url = server
    script.append(status)
    async with WebhookSender(url, SECRET, sleep=_no_sleep) as sender:
        with pytest.raises(WebhookRejectedError) as caught:
            await sender.deliver(Delivery(BODY, 9, "al-0009"))
    assert (caught.value.seq, caught.value.status) == (9, status)


async def test_refused_connection_is_retriable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with WebhookSender(f"http://127.0.0.1:{port}/", None) as sender:
        with pytest.raises(WebhookUnavailableError) as caught:
            await sender.post_once(Delivery(BODY, 1, "al-0001"))
    assert caught.value.retriable
