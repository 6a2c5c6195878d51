"""Which countries each region of the catalogue covers (the one place this is decided).

Every ISO 3166-1 code belongs to at least one region; three belong to two (Türkiye, Cyprus
and Egypt are sold in Europe or Africa and in the Middle East). `GLOBAL` covers every country.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from iso3166 import countries_by_alpha2

from contracts.catalogue import Region


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


ALL_COUNTRIES: frozenset[str] = frozenset(countries_by_alpha2)
"""Every ISO 3166-1 alpha-2 code the `iso3166` package knows."""

_CONTINENTAL: dict[Region, frozenset[str]] = {
    Region.EUROPE: _codes(
        """AD AL AM AT AX AZ BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GE GG GI GR HR HU IE
        IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM TR UA VA
        XK"""
    ),
    Region.ASIA: _codes(
        """AF BD BN BT CN HK ID IN IO JP KG KH KP KR KZ LA LK MM MN MO MV MY NP PH PK SG TH TJ
        TL TM TW UZ VN"""
    ),
    Region.MIDDLE_EAST: _codes("AE BH CY EG IL IQ IR JO KW LB OM PS QA SA SY TR YE"),
    Region.AFRICA: _codes(
        """AO BF BI BJ BV BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS
        LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TF TG TN TZ UG
        YT ZA ZM ZW"""
    ),
    Region.AMERICAS: _codes(
        """AG AI AR AW BB BL BM BO BQ BR BS BZ CA CL CO CR CU CW DM DO EC FK GD GF GL GP GS GT
        GY HN HT JM KN KY LC MF MQ MS MX NI PA PE PM PR PY SR SV SX TC TT UM US UY VC VE VG
        VI"""
    ),
    Region.OCEANIA: _codes(
        """AQ AS AU CC CK CX FJ FM GU HM KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV VU WF
        WS"""
    ),
}

REGION_COUNTRIES: Mapping[Region, frozenset[str]] = MappingProxyType(
    {**_CONTINENTAL, Region.GLOBAL: ALL_COUNTRIES}
)
"""The countries of each region."""


def regions_of(country: str) -> list[Region]:
    """The regions a country belongs to, besides `GLOBAL`, in a fixed order."""
    return [region for region, members in _CONTINENTAL.items() if country in members]


def uncovered_countries() -> frozenset[str]:
    """Countries no continental region lists (none, unless the ISO list grew)."""
    listed = frozenset().union(*_CONTINENTAL.values())
    return ALL_COUNTRIES - listed
