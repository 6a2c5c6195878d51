"""Wire examples of the catalogue contracts (one real instance of each, as JSON input)."""

from typing import Any

PACKAGE: dict[str, Any] = {
    "id": "pkg_de_5gb_30d",
    "title": "Germany: 5 GB, 30 days",
    "coverage": "local",
    "countries": ["DE"],
    "regions": ["EUROPE"],
    "unlimited": False,
    "data_mb": 5120,
    "validity_days": 30,
    "price": {"amount": 1599, "currency": "EUR"},
    "active": True,
}

CATALOGUE_EXAMPLES: dict[str, dict[str, Any]] = {
    "provisioning.package.v1": PACKAGE,
    "provisioning.list_packages.v1": {
        "country": "DE",
        "region": "EUROPE",
        "min_data_mb": 1024,
        "limit": 20,
        "cursor": "pkg_de_1gb_7d",
    },
    "provisioning.package_page.v1": {"data": [PACKAGE], "next_cursor": "pkg_de_5gb_30d"},
    "provisioning.get_package.v1": {"package_id": "pkg_de_5gb_30d"},
}
