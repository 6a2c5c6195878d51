"""The wire contracts: every message that crosses the bus, defined once, as pydantic models."""

from contracts.accounts import Principal, VerifyApiKey
from contracts.base import Command, Contract, Envelope, Event, Query, RemoteError, Reply
from contracts.gateway import ApiRequestLogged
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

ALL_CONTRACTS: tuple[type[Contract], ...] = (
    ApiRequestLogged,
    EraseSubject,
    ExportSubject,
    GetPrivacyRequest,
    InventoryAnnounced,
    InventoryRequested,
    ListPrivacyRequests,
    LocateSubject,
    Principal,
    PrivacyRequestPage,
    PrivacyRequestView,
    PrivacyTaskCompleted,
    RectifySubject,
    RemoteError,
    RestrictSubject,
    SubmitPrivacyRequest,
    VerifyApiKey,
)
"""Every contract, for the type registry and the AsyncAPI document."""

__all__ = [
    "ALL_CONTRACTS",
    "ApiRequestLogged",
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
