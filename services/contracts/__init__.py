"""The wire contracts: every message that crosses the bus, defined once, as pydantic models."""

from types import ModuleType

from contracts import (
    accounts,
    apikeys,
    base,
    billing,
    catalogue,
    dashboard,
    erasure_ledger,
    gateway,
    identity,
    ledger,
    log_queries,
    logs,
    ops,
    orders,
    own_user,
    policy,
    privacy,
    privacy_exports,
    provider,
    restrictions,
    retention,
    webhooks,
)
from contracts.accounts import Principal, VerifyApiKey
from contracts.base import Command, Contract, Envelope, Event, Query, RemoteError, Reply
from contracts.gateway import ApiRequestsLogged
from contracts.privacy import (
    EraseSubject,
    ExportSubject,
    GetPrivacyRequest,
    InventoryAnnounced,
    InventoryRequested,
    ListPrivacyRequests,
    LocateSubject,
    PrivacyRequestPage,
    PrivacyRequestView,
    PrivacyTaskCompleted,
    RectifySubject,
    RestrictSubject,
    SubmitPrivacyRequest,
)

MESSAGE_MODULES: tuple[ModuleType, ...] = (
    base,
    accounts,
    apikeys,
    billing,
    catalogue,
    dashboard,
    erasure_ledger,
    gateway,
    identity,
    ledger,
    log_queries,
    logs,
    ops,
    orders,
    own_user,
    policy,
    privacy,
    privacy_exports,
    provider,
    restrictions,
    retention,
    webhooks,
)
"""Every module that defines messages; a new one is added here."""


def _messages_of(module: ModuleType) -> list[type[Contract]]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Contract)
        and value.__module__ == module.__name__
        and "TYPE" in vars(value)
    ]


ALL_CONTRACTS: tuple[type[Contract], ...] = tuple(
    sorted(
        (message for module in MESSAGE_MODULES for message in _messages_of(module)),
        key=lambda message: message.TYPE,
    )
)
"""Every message type, for the AsyncAPI document: each class that declares its own TYPE."""

__all__ = [
    "ALL_CONTRACTS",
    "ApiRequestsLogged",
    "Command",
    "Contract",
    "Envelope",
    "EraseSubject",
    "Event",
    "ExportSubject",
    "GetPrivacyRequest",
    "InventoryAnnounced",
    "InventoryRequested",
    "ListPrivacyRequests",
    "LocateSubject",
    "Principal",
    "PrivacyRequestPage",
    "PrivacyRequestView",
    "PrivacyTaskCompleted",
    "Query",
    "RectifySubject",
    "RemoteError",
    "Reply",
    "RestrictSubject",
    "SubmitPrivacyRequest",
    "VerifyApiKey",
]
