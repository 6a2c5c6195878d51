"""The gateway's QR codes of activation codes: a PNG that scans back to the LPA string, and
an SVG of the same symbol."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from gateway.esim_handlers import qr_image
from support.qr_codes import decode_png_qr

CODES = [
    "LPA:1$smdp.esim-test.example$MID-0123456789ABCDEF",
    "LPA:1$rsp.provider.example:8443$K2-1A2B3C-4D5E6F-7G8H9J",
]
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("code", CODES)
def test_png_scans_back_to_the_activation_code(code: str) -> None:
    """The PNG is a PNG and a QR scanner reads exactly the activation code from it."""
    png = qr_image(code, "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_png_qr(png) == [code]


@pytest.mark.parametrize("code", CODES)
def test_svg_is_an_svg_image_of_a_path(code: str) -> None:
    """The SVG parses as SVG and draws the symbol as a path; it does not spell the code."""
    svg = qr_image(code, "svg")
    root = ElementTree.fromstring(svg)  # noqa: S314 (our own output, not untrusted input)
    assert root.tag == f"{SVG_NAMESPACE}svg"
    assert root.find(f"{SVG_NAMESPACE}path") is not None
    assert code.encode() not in svg


def test_different_codes_give_different_images() -> None:
    """The image depends on the code (the encoder is given the activation code)."""
    assert qr_image(CODES[0], "png") != qr_image(CODES[1], "png")
    assert decode_png_qr(qr_image(CODES[1], "png")) == [CODES[1]]
