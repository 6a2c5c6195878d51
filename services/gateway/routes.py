"""The partners' API map (version 1): every endpoint, its scope and its models."""

from __future__ import annotations

from contracts.accounts import Scope
from contracts.privacy import PrivacyRequestPage, PrivacyRequestView
from gateway.api import Endpoint
from gateway.handlers import GatewayHandlers
from gateway.schemas import CreatePrivacyRequest, PageQuery, Pong


def endpoints(handlers: GatewayHandlers) -> list[Endpoint]:
    """All endpoints of the API, in the order the document lists them."""
    return [
        Endpoint(
            "GET", "/v1/ping", "ping", "Check your API key", handlers.ping, Pong, tags=["meta"]
        ),
        Endpoint(
            "POST",
            "/v1/privacy/requests",
            "createPrivacyRequest",
            "Open a data-subject request",
            handlers.create_privacy_request,
            PrivacyRequestView,
            scope=Scope.PRIVACY_WRITE,
            body=CreatePrivacyRequest,
            status=202,
            tags=["privacy"],
        ),
        Endpoint(
            "GET",
            "/v1/privacy/requests",
            "listPrivacyRequests",
            "List your data-subject requests",
            handlers.list_privacy_requests,
            PrivacyRequestPage,
            scope=Scope.PRIVACY_READ,
            query=PageQuery,
            tags=["privacy"],
        ),
        Endpoint(
            "GET",
            "/v1/privacy/requests/{id}",
            "getPrivacyRequest",
            "Get a data-subject request and its per-service tasks",
            handlers.get_privacy_request,
            PrivacyRequestView,
            scope=Scope.PRIVACY_READ,
            tags=["privacy"],
        ),
    ]
