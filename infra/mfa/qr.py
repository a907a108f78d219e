"""QR codes as SVG through segno (pure Python, no imaging library): the otpauth URI for the app."""

from __future__ import annotations

import io

import segno


class SegnoQrRenderer:
    def svg(self, text: str) -> str:
        """A standalone SVG document (with its namespace, no XML declaration): usable inline in
        HTML or as an ``<img src="data:image/svg+xml,...">``. Error correction M, the usual choice
        for codes scanned from a screen."""
        buffer = io.BytesIO()
        segno.make_qr(text, error="m").save(
            buffer, kind="svg", scale=4, border=4, xmldecl=False, svgns=True, title="Two-factor setup QR code"
        )
        return buffer.getvalue().decode("utf-8")
