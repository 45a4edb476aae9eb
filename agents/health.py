"""The worker's monitoring endpoint: ``/metrics``, ``/healthz`` and ``/readyz`` on one port.

:class:`MonitoringService` is started by the faust worker *before* the app (``hub worker``
passes it to ``faust.Worker``), so the probes answer while the worker joins its group and
recovers its tables: live, not ready. It also refreshes the gauges that are read rather than
counted: consumer lag per assigned partition, agreement review dates, readiness.

Consumer lag is the true end of each assigned partition minus the consumer's position. The
ends come from ``app.consumer.highwaters``, which the hub's transport corrects with a probe
read (the embedded broker's "latest" offset is too low, docs/state-recovery.md).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

import faust
import structlog
from aiohttp import web
from faust.tables.manager import TableManager
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub import metrics
from hub.config import Settings
from hub.crypto.record import Place
from hub.crypto.trust import RecordVerifier, keyring_source
from hub.dsa import AgreementBook
from hub.governance import FoldedBook
from hub.health import Verdict, WorkerSnapshot, liveness, readiness
from hub.runtime import load_registry_from
from hub.transport import Record, kafka_endpoint
from hub.transport.topiclog import follow_partition

log = structlog.get_logger("agents.health")
REFRESH_S = 10.0
CHANGELOG_SUFFIX = "-changelog"


class MonitoringService(Service):
    """Serves the metrics and the probes of one worker, and refreshes the read gauges."""

    def __init__(self, app: faust.App, settings: Settings, **kwargs: Any) -> None:
        self.app = app
        self.settings = settings
        self.book = AgreementBook()
        self._runner: web.AppRunner | None = None
        super().__init__(**kwargs)

    async def on_start(self) -> None:
        """Open the HTTP port and start the refresh loop and the agreements reader."""
        registry = load_registry_from(self.settings)
        metrics.partnerships_known(p.id for p in registry.partnerships)
        web_app = web.Application()
        web_app.router.add_get("/metrics", self._metrics)
        web_app.router.add_get("/healthz", self._probe(liveness))
        web_app.router.add_get("/readyz", self._probe(readiness))
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.metrics_host, self.settings.metrics_port)
        await site.start()
        log.info("monitoring_started", port=self.settings.metrics_port)
        self.add_future(self._refresh_forever())
        self.add_future(self._follow_agreements())

    async def on_stop(self) -> None:
        """Close the HTTP port."""
        if self._runner is not None:
            await self._runner.cleanup()

    def snapshot(self) -> WorkerSnapshot:
        """The worker's state as readiness sees it (nothing is touched before the app starts)."""
        app = self.app
        started = bool(app.started)
        return WorkerSnapshot(
            crashed=bool(app.crashed),
            stopping=bool(app.should_stop),
            recovered=started and cast(TableManager, app.tables).recovery.completed.is_set(),
            rebalancing=bool(app.rebalancing),
            in_recovery=bool(app.in_recovery),
            assigned=len(self._assignment()) if started else 0,
        )

    def _assignment(self) -> set[Any]:
        try:
            return set(self.app.consumer.assignment())
        except faust.exceptions.ConsumerNotStarted:
            return set()

    async def _metrics(self, _: web.Request) -> web.Response:
        metrics.READY.set(int(readiness(self.snapshot()).ok))
        body = generate_latest(metrics.REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def _probe(self, verdict_of: Any) -> Any:
        async def handle(_: web.Request) -> web.Response:
            verdict: Verdict = verdict_of(self.snapshot())
            return web.Response(
                status=verdict.status, text=verdict.to_json(), content_type="application/json"
            )

        return handle

    async def _refresh_forever(self) -> None:
        while not self.should_stop:
            try:
                await self.refresh()
            except Exception as exc:  # noqa: BLE001  # a failed refresh must not stop the probes; the next one retries
                log.warning("monitoring_refresh_failed", error=type(exc).__name__)
            await self.sleep(REFRESH_S)

    async def refresh(self) -> None:
        """Update readiness, agreement review and consumer lag gauges."""
        now = datetime.now(UTC)
        metrics.record_agreements(self.book.in_force(now), now.date())
        ready = readiness(self.snapshot()).ok
        metrics.READY.set(int(ready))
        if ready:
            metrics.record_consumer_lag(await self.consumer_lag())

    async def consumer_lag(self) -> dict[tuple[str, int], int]:
        """Records past the consumer's position on each assigned stream partition."""
        tps = [tp for tp in self._assignment() if not tp.topic.endswith(CHANGELOG_SUFFIX)]
        if not tps:
            return {}
        consumer = self.app.consumer
        ends = await consumer.highwaters(*tps)
        positions = await asyncio.gather(*(consumer.position(tp) for tp in tps))
        return metrics.lag_of(
            {(tp.topic, tp.partition): end for tp, end in ends.items()},
            {(tp.topic, tp.partition): p for tp, p in zip(tps, positions, strict=True)},
        )

    async def _follow_agreements(self) -> None:
        folded = FoldedBook()
        place = Place(self.settings.agreements_topic, 0)
        verifier = RecordVerifier.from_source(keyring_source(self.settings.keys_dir))

        def publish(record: Record) -> None:
            # Only what verifies; the policy agent logs and counts what is refused.
            folded.add(record.value or b"", record.offset, verifier, place)
            self.book = folded.book

        await follow_partition(
            kafka_endpoint(self.settings), self.settings.agreements_topic, publish
        )


def monitoring_service(app: faust.App, settings: Settings) -> MonitoringService | None:
    """The monitoring service for ``app``, or None when ``HUB_METRICS_PORT`` is 0 (off)."""
    return MonitoringService(app, settings) if settings.metrics_port else None
