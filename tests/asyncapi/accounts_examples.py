"""Wire examples of the accounts contracts (identity, dashboard, ledger, billing, API keys):
one real instance of each, as JSON input, for the AsyncAPI payload checks."""

from typing import Any

WHEN = "2026-11-26T16:30:35Z"


OPS = {"kind": "user", "id": "usr_ops", "role": "ops"}
ADMIN = {"kind": "user", "id": "usr_1", "partner_id": "ptn_1", "role": "admin"}
ADDRESS = {"line1": "Alexanderplatz 1", "city": "Berlin", "postal_code": "10178", "country": "DE"}
PARTNER = {
    "id": "ptn_1",
    "business_name": "Demo Travel Ltd",
    "registration_number": "HRB 123456",
    "tax_id": "DE123456789",
    "address": ADDRESS,
    "phone": "+4930123456789",
    "currency": "EUR",
    "status": "closed",
    "created_at": WHEN,
    "closed_on": "2026-11-27",
}
CONTACT = {
    "id": "con_1",
    "partner_id": "ptn_1",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+4915112345678",
    "role": "billing",
    "restricted": False,
    "objection": False,
    "created_at": WHEN,
}
USER = {
    "id": "usr_2",
    "partner_id": "ptn_1",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "role": "developer",
    "status": "active",
    "created_at": WHEN,
}
PEOPLE_EXAMPLES: dict[str, dict[str, Any]] = {
    "accounts.create_partner.v1": {
        "actor": OPS,
        "business_name": "Demo Travel Ltd",
        "registration_number": "HRB 123456",
        "tax_id": "DE123456789",
        "address": ADDRESS,
        "phone": "+4930123456789",
        "currency": "EUR",
    },
    "accounts.get_partner.v1": {"actor": ADMIN, "partner_id": "ptn_1"},
    "accounts.update_partner.v1": {"actor": ADMIN, "partner_id": "ptn_1", "tax_id": "DE987654321"},
    "accounts.close_partner.v1": {"actor": OPS, "partner_id": "ptn_1"},
    "accounts.partner.v1": PARTNER,
    "accounts.add_contact.v1": {
        "actor": ADMIN,
        "partner_id": "ptn_1",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+4915112345678",
        "role": "billing",
    },
    "accounts.list_contacts.v1": {"actor": ADMIN, "partner_id": "ptn_1"},
    "accounts.update_contact.v1": {
        "actor": ADMIN,
        "partner_id": "ptn_1",
        "contact_id": "con_1",
        "email": "ada@example.org",
    },
    "accounts.remove_contact.v1": {"actor": ADMIN, "partner_id": "ptn_1", "contact_id": "con_1"},
    "accounts.contact.v1": CONTACT,
    "accounts.contact_list.v1": {"data": [CONTACT]},
    "accounts.contact_removed.v1": {"contact_id": "con_1"},
    "accounts.create_user.v1": {
        "actor": ADMIN,
        "partner_id": "ptn_1",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "role": "developer",
        "password": "correct horse battery staple",
    },
    "accounts.list_users.v1": {"actor": ADMIN, "partner_id": "ptn_1"},
    "accounts.get_own_user.v1": {"actor": ADMIN},
    "accounts.user.v1": USER,
    "accounts.user_list.v1": {"data": [USER]},
    "accounts.login.v1": {
        "email": "ada@example.com",
        "password": "correct horse battery staple",
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0",
    },
    "accounts.login_result.v1": {
        "refusal": {
            "code": "invalid_credentials",
            "message": "the email or password is not correct",
            "retry_after_seconds": 900,
        }
    },
    "accounts.verify_session.v1": {"token": "ess_0123456789abcdefghijklmnopqrstuvwxyzABCDE"},
    "accounts.session_principal.v1": {"session_id": "ses_1", "actor": ADMIN, "expires_at": WHEN},
    "accounts.logout.v1": {"token": "ess_0123456789abcdefghijklmnopqrstuvwxyzABCDE"},
    "accounts.revoke_sessions.v1": {"actor": ADMIN, "user_id": "usr_2"},
    "accounts.sessions_revoked.v1": {"revoked": 2},
    "accounts.list_login_history.v1": {"actor": ADMIN, "user_id": "usr_2", "limit": 20},
    "accounts.login_history.v1": {
        "data": [
            {
                "at": WHEN,
                "outcome": "refused",
                "reason": "wrong_password",
                "ip": "203.0.113.7",
                "user_agent": "Mozilla/5.0",
            }
        ],
        "next_cursor": "lgn_1",
    },
    "accounts.partner_created.v1": {"partner_id": "ptn_1", "currency": "EUR", "created_at": WHEN},
    "accounts.partner_updated.v1": {
        "partner_id": "ptn_1",
        "fields": ["phone", "tax_id"],
        "updated_at": WHEN,
        "by": "usr_1",
    },
    "accounts.partner_closed.v1": {
        "partner_id": "ptn_1",
        "closed_on": "2026-11-27",
        "closed_at": WHEN,
    },
}

ENTRY = {
    "entry_id": "led_1",
    "partner_id": "ptn_1",
    "kind": "debit",
    "amount": {"amount": -1500, "currency": "EUR"},
    "reference": "debit:ord_1",
    "order_id": "ord_1",
    "status": "applied",
    "created_at": WHEN,
}
PLATFORM = {"kind": "platform", "id": "provisioning"}
OWNER = {"kind": "user", "id": "usr_1", "partner_id": "ptn_1", "role": "owner"}
LEDGER_EXAMPLES = {
    "accounts.debit_balance.v1": {
        "actor": PLATFORM,
        "partner_id": "ptn_1",
        "order_id": "ord_1",
        "amount": {"amount": 1500, "currency": "EUR"},
    },
    "accounts.refund_balance.v1": {
        "actor": PLATFORM,
        "partner_id": "ptn_1",
        "order_id": "ord_1",
        "amount": {"amount": 500, "currency": "EUR"},
    },
    "accounts.credit_balance.v1": {
        "actor": {"kind": "user", "id": "usr_ops", "role": "ops"},
        "partner_id": "ptn_1",
        "kind": "top_up",
        "reference": "pi_3Nxy12",
        "amount": {"amount": 10000, "currency": "EUR"},
    },
    "accounts.balance_debited.v1": {"entry": ENTRY, "balance": {"amount": 8500, "currency": "EUR"}},
    "accounts.balance_debit_refused.v1": {
        "partner_id": "ptn_1",
        "order_id": "ord_2",
        "amount": {"amount": 99999, "currency": "EUR"},
        "reason": "insufficient_funds",
        "message": "the balance does not cover it",
    },
    "accounts.balance_refunded.v1": {
        "entry": {
            **ENTRY,
            "kind": "refund",
            "amount": {"amount": 500, "currency": "EUR"},
            "reference": "refund:ord_1",
        },
        "balance": {"amount": 9000, "currency": "EUR"},
    },
    "accounts.balance_refund_refused.v1": {
        "partner_id": "ptn_1",
        "order_id": "ord_9",
        "amount": None,
        "reason": "not_found",
        "message": "no debit of this order for this partner",
    },
    "accounts.balance_credited.v1": {
        "entry": {
            **ENTRY,
            "kind": "top_up",
            "amount": {"amount": 10000, "currency": "EUR"},
            "reference": "top_up:pi_3Nxy12",
            "order_id": None,
        },
        "balance": {"amount": 10000, "currency": "EUR"},
    },
    "accounts.balance_credit_refused.v1": {
        "partner_id": "ptn_1",
        "reference": "adj-2026-001",
        "amount": {"amount": -20000, "currency": "EUR"},
        "reason": "insufficient_funds",
        "message": "the balance does not cover it",
    },
    "accounts.balance_low.v1": {
        "partner_id": "ptn_1",
        "balance": {"amount": 900, "currency": "EUR"},
        "threshold": {"amount": 1000, "currency": "EUR"},
    },
    "accounts.get_balance.v1": {"actor": OWNER, "partner_id": "ptn_1"},
    "accounts.balance.v1": {
        "partner_id": "ptn_1",
        "available": {"amount": 8500, "currency": "EUR"},
    },
    "accounts.list_transactions.v1": {
        "actor": OWNER,
        "partner_id": "ptn_1",
        "period_from": "2026-11-01T00:00:00Z",
        "period_to": "2026-12-01T00:00:00Z",
        "cursor": "led_1",
        "limit": 50,
    },
    "accounts.transaction_page.v1": {"data": [ENTRY], "next_cursor": None},
    "accounts.get_statement.v1": {
        "actor": OWNER,
        "partner_id": "ptn_1",
        "period_from": "2026-11-01T00:00:00Z",
        "period_to": "2026-12-01T00:00:00Z",
        "format": "csv",
    },
    "accounts.statement.v1": {
        "partner_id": "ptn_1",
        "period_from": "2026-11-01T00:00:00Z",
        "period_to": "2026-12-01T00:00:00Z",
        "opening_balance": {"amount": 10000, "currency": "EUR"},
        "closing_balance": {"amount": 8500, "currency": "EUR"},
        "opening_decimal": "100.00",
        "closing_decimal": "85.00",
        "format": "json",
        "lines": [
            {
                "entry_id": "led_1",
                "created_at": WHEN,
                "kind": "debit",
                "reference": "debit:ord_1",
                "order_id": "ord_1",
                "amount": {"amount": -1500, "currency": "EUR"},
                "amount_decimal": "-15.00",
                "balance": {"amount": 8500, "currency": "EUR"},
                "balance_decimal": "85.00",
            }
        ],
        "csv": None,
    },
    "accounts.set_billing_profile.v1": {
        "actor": OWNER,
        "partner_id": "ptn_1",
        "processor": "stripe",
        "customer_token": "cus_NffrFeUfNV2Hib",
        "card_brand": "visa",
        "last4": "4242",
    },
    "accounts.get_billing_profile.v1": {"actor": OWNER, "partner_id": "ptn_1"},
    "accounts.billing_profile.v1": {
        "partner_id": "ptn_1",
        "processor": "stripe",
        "customer_token": "cus_NffrFeUfNV2Hib",
        "card_brand": "visa",
        "last4": "4242",
        "updated_at": WHEN,
    },
}

KEY_VIEW = {
    "id": "k3yId0123456789A",
    "name": "checkout server",
    "prefix": "esk_live_k3yId0",
    "mode": "live",
    "scopes": ["orders:read", "keys:manage"],
    "created_at": WHEN,
    "last_used_at": WHEN,
}
KEY_ACTOR = {
    "kind": "api_key",
    "id": "k3yId0123456789A",
    "partner_id": "ptn_1",
    "scopes": ["keys:manage", "orders:read"],
}
KEY_EXAMPLES: dict[str, dict[str, Any]] = {
    "accounts.api_key.v1": KEY_VIEW,
    "accounts.new_api_key.v1": {
        "api_key": "esk_live_k3yId0123456789Asecret",
        "key": KEY_VIEW,
        "replaces": {**KEY_VIEW, "id": "0ldKey0123456789", "expires_at": WHEN},
    },
    "accounts.api_key_page.v1": {
        "data": [KEY_VIEW],
        "next_cursor": "1795860000000.k3yId0123456789A",
    },
    "accounts.create_api_key.v1": {
        "actor": KEY_ACTOR,
        "partner_id": "ptn_1",
        "name": "checkout server",
        "scopes": ["orders:read"],
        "mode": "live",
    },
    "accounts.list_api_keys.v1": {
        "actor": KEY_ACTOR,
        "partner_id": "ptn_1",
        "limit": 20,
        "cursor": "1795860000000.k3yId0123456789A",
    },
    "accounts.revoke_api_key.v1": {
        "actor": KEY_ACTOR,
        "partner_id": "ptn_1",
        "key_id": "k3yId0123456789A",
    },
    "accounts.rotate_api_key.v1": {
        "actor": KEY_ACTOR,
        "partner_id": "ptn_1",
        "key_id": "k3yId0123456789A",
    },
    "accounts.api_key_revoked.v1": {
        "key_id": "k3yId0123456789A",
        "partner_id": "ptn_1",
        "effective_at": WHEN,
        "reason": "rotated",
    },
}

RETENTION_EXAMPLES: dict[str, dict[str, Any]] = {
    "privacy.retention_swept.v1": {
        "service": "accounts",
        "swept_at": WHEN,
        "removed": {"login_history": 120, "dashboard_sessions": 14, "contact_people": 2},
        "partners_erased": 1,
    },
}

ACCOUNTS_EXAMPLES: dict[str, dict[str, Any]] = {
    **PEOPLE_EXAMPLES,
    **LEDGER_EXAMPLES,
    **KEY_EXAMPLES,
    **RETENTION_EXAMPLES,
}
