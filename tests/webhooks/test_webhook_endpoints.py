"""Managing webhook endpoints: SSRF refusals, bad input, partner isolation, the secret."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from webhook_support import KEY_A, KEY_B, PARTNER_A, PARTNER_B, Rig, webhook_settings

from contracts.accounts import Actor, Role, Scope
from contracts.webhooks import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    GetWebhookEndpoint,
    ListWebhookDeliveries,
    ListWebhookEndpoints,
    NewWebhookSecret,
    ReplayWebhookDelivery,
    UpdateWebhookEndpoint,
    WebhookDeliveryPage,
    WebhookEndpointPage,
    WebhookEndpointView,
)
from provisioning import webhooks
from provisioning.webhook_store import DELIVERIES, ENDPOINTS
from provisioning.webhook_urls import check_url
from servicekit.errors import RemoteCallError, ServiceError
from servicekit.service import Service
from servicekit.settings import ServiceSettings
from support.services import running


async def stored_endpoints(rig: Rig) -> list[dict[str, Any]]:
    """Every stored endpoint."""
    return await rig.provisioning.db[ENDPOINTS].find({}).to_list()


def create_query(**fields: Any) -> CreateWebhookEndpoint:
    """A create query for partner A, with `fields` overriding the defaults."""
    values: dict[str, Any] = {
        "actor": KEY_A,
        "partner_id": PARTNER_A,
        "url": "https://example.com/hooks",
        "event_types": ["order.completed"],
        "mode": "live",
        **fields,
    }
    return CreateWebhookEndpoint.model_validate(values)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",
        "https://224.0.0.1/hook",
        "https://[::ffff:192.168.0.1]/hook",
    ],
)
async def test_live_urls_to_internal_addresses_are_refused(rig: Rig, url: str) -> None:
    """A live endpoint to a private, loopback, link-local or reserved address is refused,
    even where test endpoints may use them, and nothing is stored."""
    with pytest.raises(RemoteCallError) as refused:
        await rig.ask(create_query(url=url), NewWebhookSecret)
    assert refused.value.code == "invalid_request"
    assert await stored_endpoints(rig) == []


async def test_live_urls_need_https(rig: Rig) -> None:
    """A live endpoint over plain http is refused."""
    with pytest.raises(RemoteCallError, match="https") as refused:
        await rig.ask(create_query(url="http://example.com/hooks"), NewWebhookSecret)
    assert refused.value.code == "invalid_request"
    assert await stored_endpoints(rig) == []


async def test_private_urls_need_the_setting() -> None:
    """Without `webhooks_allow_private_urls`, a test endpoint on loopback is refused too."""
    with pytest.raises(ServiceError, match="private"):
        await check_url("http://127.0.0.1:9/hook", "test", allow_private=False)
    await check_url("http://127.0.0.1:9/hook", "test", allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://exa\x00mple.com/hook",
        "https://example.com/ho\x7fok",
        "https://example.com:99999/hook",
        "https://example.com:port/hook",
        "https://[::1/hook",
    ],
)
async def test_malformed_urls_are_invalid_requests(url: str) -> None:
    """Control characters, an impossible port or an unclosed IPv6 bracket are a clear
    `invalid_request`, never an internal error."""
    with pytest.raises(ServiceError) as refused:
        await check_url(url, "test", allow_private=True)
    assert refused.value.code == "invalid_request"


async def test_unresolvable_hosts_are_refused() -> None:
    """A host that does not resolve is refused."""
    with pytest.raises(ServiceError, match="does not resolve"):
        await check_url("https://no-such-host.invalid/hook", "live", allow_private=False)


async def test_update_to_an_internal_url_is_refused(rig: Rig) -> None:
    """Changing a live endpoint's URL to an internal address changes nothing."""
    created = await rig.ask(create_query(), NewWebhookSecret)
    query = UpdateWebhookEndpoint(
        actor=KEY_A,
        partner_id=PARTNER_A,
        endpoint_id=created.endpoint.id,
        url="https://192.168.1.1/x",  # type: ignore[arg-type]
    )
    with pytest.raises(RemoteCallError):
        await rig.ask(query, WebhookEndpointView)
    [stored] = await stored_endpoints(rig)
    assert stored["url"] == "https://example.com/hooks"


@pytest.mark.parametrize(
    "fields",
    [
        {"url": "ftp://example.com/x"},
        {"url": "not a url"},
        {"event_types": []},
        {"event_types": ["order.exploded"]},
        {"mode": "sandbox"},
        {"secret": "whsec_mine"},
    ],
)
def test_bad_input_is_refused_by_the_contract(fields: dict[str, Any]) -> None:
    """Malformed URLs, event types, modes and unknown fields never make a valid query."""
    with pytest.raises(ValidationError):
        create_query(**fields)


async def test_credentials_in_the_url_are_refused(rig: Rig) -> None:
    """A URL with a user name and password is refused; nothing is stored."""
    with pytest.raises(RemoteCallError, match="credentials"):
        await rig.ask(create_query(url="https://u:p@example.com/x"), NewWebhookSecret)
    assert await stored_endpoints(rig) == []


async def test_secret_is_sealed_and_shown_once(rig: Rig) -> None:
    """The reply carries a `whsec_` secret; the store and later views never show it."""
    created = await rig.create()
    secret = created.secret.get_secret_value()
    assert secret.startswith("whsec_")
    [stored] = await stored_endpoints(rig)
    assert secret not in str(stored)
    assert str(stored["secret"]).startswith("enc1.")
    page = await rig.ask(
        ListWebhookEndpoints(actor=KEY_A, partner_id=PARTNER_A), WebhookEndpointPage
    )
    assert secret not in page.model_dump_json()
    assert [view.id for view in page.data] == [created.endpoint.id]


async def test_another_partners_endpoint_is_unknown(rig: Rig) -> None:
    """Partner B can neither see, change, delete nor replay partner A's endpoint."""
    created = await rig.create()
    endpoint_id = created.endpoint.id
    refused = [
        GetWebhookEndpoint(actor=KEY_B, partner_id=PARTNER_B, endpoint_id=endpoint_id),
        DeleteWebhookEndpoint(actor=KEY_B, partner_id=PARTNER_B, endpoint_id=endpoint_id),
        UpdateWebhookEndpoint(
            actor=KEY_B, partner_id=PARTNER_B, endpoint_id=endpoint_id, enabled=False
        ),
    ]
    for query in refused:
        with pytest.raises(RemoteCallError) as error:
            await rig.ask(query, WebhookEndpointView)
        assert error.value.code == "not_found"
    with pytest.raises(RemoteCallError) as forged:
        await rig.ask(
            GetWebhookEndpoint(actor=KEY_B, partner_id=PARTNER_A, endpoint_id=endpoint_id),
            WebhookEndpointView,
        )
    assert forged.value.code == "forbidden"
    assert (await stored_endpoints(rig))[0]["status"] == "enabled"


async def test_a_key_without_the_scope_is_forbidden(rig: Rig) -> None:
    """An API key without `webhooks:manage` cannot list endpoints."""
    reader = Actor(kind="api_key", id="key_r", partner_id=PARTNER_A, scopes=[Scope.ORDERS_READ])
    with pytest.raises(RemoteCallError) as error:
        await rig.ask(ListWebhookEndpoints(actor=reader, partner_id=PARTNER_A), WebhookEndpointPage)
    assert error.value.code == "forbidden"


async def test_unknown_delivery_replay_writes_nothing(rig: Rig) -> None:
    """Replaying a delivery that does not exist is `not_found` and queues nothing."""
    await rig.create()
    with pytest.raises(RemoteCallError) as error:
        await rig.ask(
            ReplayWebhookDelivery(actor=KEY_A, partner_id=PARTNER_A, delivery_id="msg_nope"),
            WebhookDeliveryPage,
        )
    assert error.value.code == "not_found"
    assert await rig.provisioning.db[DELIVERIES].count_documents({}) == 0


async def test_without_keys_webhooks_are_unavailable(base_settings: ServiceSettings) -> None:
    """Without MASTER_KEYS and BLIND_INDEX_KEY every webhook query answers `unavailable`."""
    settings = webhook_settings(base_settings, master_keys=None, blind_index_key=None)
    provisioning = Service.create("provisioning", settings)
    assert webhooks.register(provisioning, settings) is None
    caller = Service.create("tester", settings, stateless=True)
    async with running(provisioning, caller):
        with pytest.raises(RemoteCallError) as error:
            await caller.bus.request(
                ListWebhookEndpoints(actor=KEY_A, partner_id=PARTNER_A),
                to="provisioning",
                reply=WebhookEndpointPage,
                timeout=10,
            )
    assert error.value.code == "unavailable"


async def test_deleted_endpoint_is_gone(rig: Rig) -> None:
    """A deleted endpoint is no longer listed, and its deliveries list stays readable."""
    created = await rig.create()
    query = DeleteWebhookEndpoint(
        actor=KEY_A, partner_id=PARTNER_A, endpoint_id=created.endpoint.id
    )
    await rig.ask(query, WebhookEndpointView)
    page = await rig.ask(
        ListWebhookEndpoints(actor=KEY_A, partner_id=PARTNER_A), WebhookEndpointPage
    )
    assert page.data == []
    deliveries = await rig.ask(
        ListWebhookDeliveries(actor=KEY_A, partner_id=PARTNER_A), WebhookDeliveryPage
    )
    assert deliveries.data == []


async def test_a_user_whose_role_lacks_webhooks_manage_may_read_but_not_change(rig: Rig) -> None:
    """A viewer of the partner lists endpoints but may not create, delete or test one
    (its role grants no `webhooks:manage`); a developer may create one."""
    await rig.create()
    viewer = Actor(kind="user", id="usr_v", partner_id=PARTNER_A, role=Role.VIEWER)
    page = await rig.ask(
        ListWebhookEndpoints(actor=viewer, partner_id=PARTNER_A), WebhookEndpointPage
    )
    assert len(page.data) == 1
    with pytest.raises(RemoteCallError) as refused:
        await rig.create(actor=viewer, url="http://127.0.0.1:9/viewer")
    assert refused.value.code == "forbidden"
    with pytest.raises(RemoteCallError) as deleting:
        await rig.ask(
            DeleteWebhookEndpoint(actor=viewer, partner_id=PARTNER_A, endpoint_id=page.data[0].id),
            WebhookEndpointView,
        )
    assert deleting.value.code == "forbidden"
    assert len(await stored_endpoints(rig)) == 1
    developer = Actor(kind="user", id="usr_d", partner_id=PARTNER_A, role=Role.DEVELOPER)
    await rig.create(actor=developer)
    assert len(await stored_endpoints(rig)) == 2
