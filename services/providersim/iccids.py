"""ICCIDs: 19 digits starting with 89, the last a Luhn check digit (ITU-T E.118)."""

from __future__ import annotations

ICCID_LENGTH = 19


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload` + digit pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def is_valid_iccid(iccid: str) -> bool:
    """19-20 digits, starting with 89, with a valid Luhn check digit."""
    if not (iccid.isdigit() and 19 <= len(iccid) <= 20 and iccid.startswith("89")):
        return False
    return luhn_check_digit(iccid[:-1]) == iccid[-1]


def iccid_pool(prefix: str, size: int) -> list[str]:
    """`size` distinct ICCIDs under `prefix`, in serial-number order."""
    serial_digits = ICCID_LENGTH - 1 - len(prefix)
    if size > 10**serial_digits:
        raise ValueError(f"a prefix of {len(prefix)} digits leaves room for fewer ICCIDs")
    payloads = (f"{prefix}{serial:0{serial_digits}d}" for serial in range(size))
    return [payload + luhn_check_digit(payload) for payload in payloads]
