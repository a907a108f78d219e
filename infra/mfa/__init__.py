"""Two-factor authentication adapters: AES-GCM for secrets at rest, pyotp for TOTP, segno for QR codes."""
