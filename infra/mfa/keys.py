"""Where the TOTP encryption key comes from: settings, or (locally only) a generated key file.

Production refuses to start without ``MFA_ENCRYPTION_KEY`` (``shared/settings.py``). Locally, a key
is generated on first run into ``MFA_KEY_DIR`` (default ``.data/keys``) with mode 0600, so
``make run`` needs no configuration and secrets stay readable across restarts. Deleting that file
makes existing local TOTP secrets unreadable (users would set up 2FA again).
"""

from __future__ import annotations

import base64
import contextlib
import os
from pathlib import Path

from infra.mfa.cipher import AesGcmSecretCipher, parse_key, parse_key_list

LOCAL_KEY_FILE = "mfa-encryption.key"


def local_key_spec(key_dir: str | Path) -> str:
    """The local key (``base64``), created atomically with 0600 permissions if it does not exist."""
    directory = Path(key_dir)
    directory.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        directory.chmod(0o700)
    path = directory / LOCAL_KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.b64encode(os.urandom(32)).decode("ascii") + "\n")
    return path.read_text(encoding="ascii").strip()


def build_cipher(current_spec: str | None, previous_specs: str | None, key_dir: str | Path) -> AesGcmSecretCipher:
    current = parse_key(current_spec) if current_spec else parse_key(local_key_spec(key_dir))
    return AesGcmSecretCipher(current, parse_key_list(previous_specs))
