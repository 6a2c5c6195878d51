"""Composition root of the privacy service."""

from __future__ import annotations

from aiohttp import web

from contracts.erasure_ledger import ErasureReapplied, GetReapplyRun, ReapplyErasures
from contracts.privacy import (
    ApprovePrivacyRequest,
    CancelPrivacyRequest,
    ExtendPrivacyDeadline,
    GetPrivacyRequest,
    InventoryAnnounced,
    InventoryRequested,
    ListPrivacyRequests,
    PrivacyTaskCompleted,
    RejectPrivacyRequest,
    RerunPrivacyTask,
    ResendVerificationCode,
    SubmitPrivacyRequest,
    VerifyPrivacyRequest,
)
from privacy import audit, exports, fanout, http, ledger, pages, policy, receipts, store, watch
from privacy.decisions import Decisions
from privacy.handlers import PrivacyHandlers
from privacy.intake import Intake
from privacy.reapply import Reapply
from privacy.requests import Desk
from privacy.settings import PrivacySettings
from servicekit.clock import Clock, utcnow
from servicekit.mail import Mailer, MailSettings
from servicekit.service import Service

NAME = "privacy"


def create_service(settings: PrivacySettings, clock: Clock = utcnow) -> Service:
    """Wire the privacy service: store, handlers, subscriptions, background work."""
    service = Service.create(NAME, settings)
    desk = Desk(db=service.db, bus=service.bus, settings=settings, clock=clock)
    handlers = PrivacyHandlers(desk)
    intake = Intake(desk, Mailer(MailSettings()))
    decisions = Decisions(desk)
    reapply = Reapply(desk)
    service.outbox.collections.append(store.REQUESTS)
    service.startup.append(lambda: store.create_indexes(service.db))
    service.startup.append(lambda: audit.create_indexes(service.db))
    service.startup.append(lambda: receipts.create_indexes(service.db))
    service.startup.append(lambda: ledger.create_indexes(service.db))
    service.router.answer(SubmitPrivacyRequest, intake.submit)
    service.router.answer(VerifyPrivacyRequest, intake.verify)
    service.router.answer(ResendVerificationCode, intake.resend)
    service.router.answer(ApprovePrivacyRequest, decisions.approve)
    service.router.answer(RejectPrivacyRequest, decisions.reject)
    service.router.answer(CancelPrivacyRequest, decisions.cancel)
    service.router.answer(ExtendPrivacyDeadline, decisions.extend)
    service.router.answer(RerunPrivacyTask, decisions.rerun)
    service.router.answer(GetPrivacyRequest, handlers.get)
    service.router.answer(ListPrivacyRequests, handlers.list)
    service.router.on(PrivacyTaskCompleted, handlers.task_completed, idempotent=True)
    service.router.on(InventoryAnnounced, handlers.inventory_announced)
    service.router.answer(ReapplyErasures, reapply.start)
    service.router.answer(GetReapplyRun, reapply.get)
    service.router.on(ErasureReapplied, reapply.answered)
    service.background.append(lambda: fanout.run_sweeper(desk))
    service.background.append(lambda: watch.run_watch(desk))
    policy.register(service)
    exports.register(service, settings, clock)

    async def request_inventories() -> None:
        await service.bus.publish(InventoryRequested())

    service.after_start.append(request_inventories)
    return service


def create_app(settings: PrivacySettings) -> web.Application:
    """The privacy service's aiohttp app."""
    service = create_service(settings)
    app = service.http_app()
    http.add_routes(app, service.db)
    pages.add_routes(app, service.db)
    return app
