"""The gateway's memory of the services' status reports (`ops.service_status_reported.v1`,
decision 0017): each replica hears every report on its own broadcast queue and keeps, per
process instance, the reports of the last `window`, bounded in count too. Nothing durable:
a restarted replica starts empty and fills again within one report interval.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from contracts.ops import ServiceStatusReported
from servicekit.clock import utcnow
from servicekit.messages import MessageContext

WINDOW = timedelta(minutes=15)
MAX_REPORTS_PER_INSTANCE = 1000
"""Reports kept per instance at most (a short interval would otherwise fill the window)."""
MAX_INSTANCES = 500
"""Instances remembered at most; the longest silent is forgotten first."""
GONE_AFTER_INTERVALS = 3
"""An instance silent for this many of its report intervals is shown as gone."""


@dataclass(frozen=True)
class Received:
    """A report and when this replica received it (its own clock: no skew between hosts)."""

    at: datetime
    report: ServiceStatusReported


def is_gone(last: Received, now: datetime) -> bool:
    """Whether an instance whose latest report is `last` has fallen silent."""
    silence = timedelta(seconds=last.report.interval_seconds * GONE_AFTER_INTERVALS)
    return now - last.at > silence


class ReportStore:
    """Recent status reports per instance, in arrival order, bounded in time and count."""

    def __init__(
        self,
        *,
        window: timedelta = WINDOW,
        per_instance: int = MAX_REPORTS_PER_INSTANCE,
        max_instances: int = MAX_INSTANCES,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.window = window
        self.per_instance = per_instance
        self.max_instances = max_instances
        self.clock = clock
        self._by_instance: dict[str, deque[Received]] = {}

    def add(self, report: ServiceStatusReported, now: datetime) -> None:
        """Keep a report received at `now`; a report older than the instance's latest (a
        duplicate or a late one) is dropped."""
        reports = self._by_instance.get(report.instance)
        if reports is None:
            reports = self._by_instance[report.instance] = deque(maxlen=self.per_instance)
        elif reports and reports[-1].report.reported_at >= report.reported_at:
            return
        reports.append(Received(now, report))
        self.prune(now)

    def prune(self, now: datetime) -> None:
        """Forget reports older than the window, then instances beyond the bound."""
        oldest = now - self.window
        for instance, reports in list(self._by_instance.items()):
            while reports and reports[0].at < oldest:
                reports.popleft()
            if not reports:
                del self._by_instance[instance]
        if len(self._by_instance) > self.max_instances:
            by_silence = sorted(self._by_instance, key=lambda i: self._by_instance[i][-1].at)
            for instance in by_silence[: len(self._by_instance) - self.max_instances]:
                del self._by_instance[instance]

    def by_service(self, now: datetime) -> dict[str, list[list[Received]]]:
        """Each service's instances' reports within the window, oldest first."""
        self.prune(now)
        services: dict[str, list[list[Received]]] = {}
        for reports in self._by_instance.values():
            services.setdefault(reports[-1].report.service, []).append(list(reports))
        return dict(sorted(services.items()))

    def count(self) -> int:
        """Reports held in memory."""
        return sum(len(reports) for reports in self._by_instance.values())

    async def on_report(self, report: ServiceStatusReported, _context: MessageContext) -> None:
        """A report heard on this replica's broadcast queue."""
        self.add(report, self.clock())


REPORTS: web.AppKey[ReportStore] = web.AppKey("dashboard_ops_reports", ReportStore)
