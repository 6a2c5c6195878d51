"""The partners' API map (version 1): every endpoint, its scope and its models."""

from __future__ import annotations

from contracts.accounts import Scope
from contracts.apikeys import ApiKeyPage, ApiKeyView
from contracts.catalogue import Package, PackagePage
from contracts.identity import PartnerView
from contracts.ledger import BalanceView, TransactionPage
from contracts.privacy import PrivacyRequestPage, PrivacyRequestView
from gateway.account_handlers import CSV, AccountHandlers
from gateway.account_schemas import (
    AccountChanges,
    AccountStatement,
    StatementQuery,
    TransactionsQuery,
)
from gateway.api import Endpoint
from gateway.catalogue_handlers import CatalogueHandlers, PackagesQuery
from gateway.esim_handlers import EsimHandlers, esim_endpoints
from gateway.export_handlers import ExportHandlers, export_endpoints
from gateway.handlers import GatewayHandlers
from gateway.order_handlers import OrderHandlers, order_endpoints
from gateway.policy_handlers import PolicyHandlers, policy_endpoints
from gateway.schemas import CreateApiKeyBody, CreatedApiKey, CreatePrivacyRequest, PageQuery, Pong
from gateway.usage_handlers import UsageHandlers, usage_endpoints
from gateway.webhook_handlers import WebhookHandlers, webhook_endpoints


def endpoints(
    handlers: GatewayHandlers, orders: OrderHandlers, catalogue: CatalogueHandlers
) -> list[Endpoint]:
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
        *export_endpoints(ExportHandlers(handlers.bus, handlers.timeout)),
        *api_key_endpoints(handlers),
        *account_endpoints(AccountHandlers(handlers.bus, handlers.timeout)),
        *catalogue_endpoints(catalogue),
        *esim_endpoints(EsimHandlers(handlers.bus, handlers.timeout)),
        *webhook_endpoints(WebhookHandlers(handlers.bus, handlers.timeout)),
        *order_endpoints(orders),
        *usage_endpoints(UsageHandlers(handlers.bus, handlers.timeout)),
        *policy_endpoints(PolicyHandlers(handlers.bus, handlers.timeout)),
    ]


def api_key_endpoints(handlers: GatewayHandlers) -> list[Endpoint]:
    """Managing the partner's own API keys: all need `keys:manage`."""
    return [
        Endpoint(
            "GET",
            "/v1/api-keys",
            "listApiKeys",
            "List your working API keys (never their secrets)",
            handlers.list_api_keys,
            ApiKeyPage,
            scope=Scope.KEYS_MANAGE,
            query=PageQuery,
            tags=["api-keys"],
        ),
        Endpoint(
            "POST",
            "/v1/api-keys",
            "createApiKey",
            "Create an API key; the full key is in this response only",
            handlers.create_api_key,
            CreatedApiKey,
            scope=Scope.KEYS_MANAGE,
            body=CreateApiKeyBody,
            status=201,
            tags=["api-keys"],
            conflicts=True,
        ),
        Endpoint(
            "DELETE",
            "/v1/api-keys/{id}",
            "revokeApiKey",
            "Revoke an API key at once",
            handlers.revoke_api_key,
            ApiKeyView,
            scope=Scope.KEYS_MANAGE,
            tags=["api-keys"],
        ),
        Endpoint(
            "POST",
            "/v1/api-keys/{id}/rotate",
            "rotateApiKey",
            "Replace an API key; the old one works until the overlap window ends",
            handlers.rotate_api_key,
            CreatedApiKey,
            scope=Scope.KEYS_MANAGE,
            status=201,
            tags=["api-keys"],
            conflicts=True,
        ),
    ]


def account_endpoints(handlers: AccountHandlers) -> list[Endpoint]:
    """The partner's own account: details (`account:*`), balance and ledger (`billing:read`)."""
    return [
        Endpoint(
            "GET",
            "/v1/account",
            "getAccount",
            "Get your business details",
            handlers.get_account,
            PartnerView,
            scope=Scope.ACCOUNT_READ,
            tags=["account"],
            missing=True,
        ),
        Endpoint(
            "PATCH",
            "/v1/account",
            "updateAccount",
            "Correct your business details",
            handlers.update_account,
            PartnerView,
            scope=Scope.ACCOUNT_WRITE,
            body=AccountChanges,
            tags=["account"],
            missing=True,
            description="Send only the fields that change; unknown fields are refused. Which"
            " fields changed, when and by which key is recorded (never the values).",
        ),
        Endpoint(
            "GET",
            "/v1/balance",
            "getBalance",
            "Get your available balance",
            handlers.get_balance,
            BalanceView,
            scope=Scope.BILLING_READ,
            tags=["billing"],
            missing=True,
        ),
        Endpoint(
            "GET",
            "/v1/transactions",
            "listTransactions",
            "List your ledger entries of a period, oldest first",
            handlers.list_transactions,
            TransactionPage,
            scope=Scope.BILLING_READ,
            query=TransactionsQuery,
            tags=["billing"],
            description="Every entry created in `[from, to)`: top-ups, debits, refunds and"
            " adjustments, with their status (`pending`, `applied`, `refused`). Pages follow"
            " `next_cursor`.",
        ),
        Endpoint(
            "GET",
            "/v1/statements",
            "getStatement",
            "Get your statement of a period, as JSON or CSV",
            handlers.get_statement,
            AccountStatement,
            scope=Scope.BILLING_READ,
            query=StatementQuery,
            tags=["billing"],
            missing=True,
            description="The applied entries of `[from, to)` (at most 366 days) with the"
            " running balance, between the opening and the closing balance. With"
            " `format=csv` the answer is a `text/csv` attachment: a header row, an"
            " `opening_balance` row, one row per entry, a `closing_balance` row.",
            downloads=(CSV,),
        ),
    ]


def catalogue_endpoints(handlers: CatalogueHandlers) -> list[Endpoint]:
    """The package catalogue: any valid key may read it (it is public to partners)."""
    return [
        Endpoint(
            "GET",
            "/v1/packages",
            "listPackages",
            "List the data packages you can sell",
            handlers.list_packages,
            PackagePage,
            query=PackagesQuery,
            tags=["packages"],
            description="Active packages in id order, filtered by `country`, `region` and"
            " `min_data_mb` (all optional, combined). Pages follow `next_cursor` (null on the"
            " last page); the order is stable, so paging never repeats or skips a package.",
        ),
        Endpoint(
            "GET",
            "/v1/packages/{id}",
            "getPackage",
            "Get a data package",
            handlers.get_package,
            Package,
            tags=["packages"],
            description="Also answers for a retired package (`active: false`), so past"
            " orders can show what they bought.",
        ),
    ]
