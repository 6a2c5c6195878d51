"""Data minimisation: the provider receives package codes, quantities, ICCIDs and keys only."""

from __future__ import annotations

import inspect
import json

from sim_support import Simulator

from provisioning.provider import HttpNetworkProvider, NetworkProvider
from servicekit.ids import new_id

ALLOWED_FIELDS = {"package_code", "quantity", "idempotency_key"}


def test_adapter_interface_has_no_parameter_for_personal_data() -> None:
    """Every adapter method takes only package codes, quantities, ICCIDs and idempotency keys."""
    allowed = {"self", "package_code", "quantity", "idempotency_key", "iccid"}
    for implementation in (NetworkProvider, HttpNetworkProvider):
        for name in ("allocate", "topup", "status"):
            parameters = set(inspect.signature(getattr(implementation, name)).parameters)
            assert parameters <= allowed, f"{implementation.__name__}.{name}: {parameters}"


async def test_nothing_sent_to_the_provider_carries_the_end_users_data(
    sim: Simulator, provider: HttpNetworkProvider
) -> None:
    """An order for an end user with an email and a reference reaches the provider as package,
    quantity and order id only: neither the email nor the reference is in anything received."""
    order = {
        "id": new_id("ord"),
        "partner_id": "ptn_demo",
        "package_code": "EU-5GB-30D",
        "quantity": 2,
        "end_user": {"email": "traveller.minimal@example.com", "reference": "booking-7731-xq"},
    }
    profiles = await provider.allocate(order["package_code"], order["quantity"], order["id"])
    await provider.topup(profiles[0].iccid, "EU-1GB-7D", new_id("top"))
    await provider.status(profiles[1].iccid)

    received = await sim.received()
    ours = [r for r in received if order["id"] in json.dumps(r) or profiles[0].iccid in r["path"]]
    everything = json.dumps(received)
    assert len(ours) >= 2
    for identifying in ("traveller.minimal@example.com", "booking-7731-xq", "ptn_demo"):
        assert identifying not in everything
    for request in received:
        assert set(request["body"] or {}) <= ALLOWED_FIELDS, request
