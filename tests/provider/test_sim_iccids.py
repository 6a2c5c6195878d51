"""The simulator's ICCID pool: format and check digits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from providersim.iccids import iccid_pool, is_valid_iccid, luhn_check_digit
from provisioning.provider import luhn_valid


def test_pool_iccids_are_distinct_valid_and_prefixed() -> None:
    """Every pool ICCID is 19 digits, starts with the prefix and passes the Luhn check."""
    pool = iccid_pool("8949000", 500)

    assert len(set(pool)) == 500
    assert all(len(i) == 19 and i.startswith("8949000") and is_valid_iccid(i) for i in pool)


def test_known_luhn_check_digit() -> None:
    """The textbook example: the check digit of 7992739871 is 3."""
    assert luhn_check_digit("7992739871") == "3"


@given(st.from_regex(r"^89[0-9]{17}$", fullmatch=True))
def test_provider_and_adapter_agree_on_check_digits(payload: str) -> None:
    """The adapter's Luhn check accepts exactly the simulator's check digit."""
    right = luhn_check_digit(payload)
    wrong = str((int(right) + 1) % 10)
    assert luhn_valid(payload + right)
    assert not luhn_valid(payload + wrong)


def test_a_flipped_digit_is_invalid() -> None:
    """Changing one digit of a valid ICCID breaks its check digit."""
    iccid = iccid_pool("8949000", 2)[1]
    flipped = iccid[:5] + str((int(iccid[5]) + 1) % 10) + iccid[6:]
    assert not is_valid_iccid(flipped)
