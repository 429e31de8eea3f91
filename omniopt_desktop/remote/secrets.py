"""Passwords and key passphrases in the system keyring (service ``omniopt-desktop``) only.

Contract:
- :func:`keyring_status` says whether a usable, non-plaintext backend exists; when none does,
  :class:`SecretStore` stores nothing (``remember`` is refused with a notice) instead of silently
  writing plain text.
- Secrets never appear in logs, exception texts or files written by this app; keyring errors
  are reported without the secret and without the backend's message (which may echo it).
- OTP answers are never stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

SERVICE = "omniopt-desktop"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyringStatus:
    usable: bool
    backend: str
    reason: str = ""


def keyring_status() -> KeyringStatus:
    try:
        import keyring
        from keyring.backends import chainer, fail
    except Exception:  # pragma: no cover - keyring is a dependency
        return KeyringStatus(False, "none", "the keyring package is not installed")
    kr = keyring.get_keyring()
    name = f"{type(kr).__module__}.{type(kr).__name__}"
    if isinstance(kr, fail.Keyring):
        return KeyringStatus(
            False,
            name,
            "no system keyring is available (install and unlock e.g. GNOME Keyring or KWallet); "
            "secrets will be asked for each time and not stored",
        )
    if isinstance(kr, chainer.ChainerBackend) and not kr.backends:
        return KeyringStatus(
            False, name, "no system keyring backend is available; secrets are not stored"
        )
    low = name.lower()
    if "plaintext" in low or low.startswith("keyring.backends.null"):
        return KeyringStatus(
            False,
            name,
            f"the keyring backend {name} would store secrets unencrypted or not at all; "
            "secrets are not stored",
        )
    return KeyringStatus(True, name)


class SecretStore:
    """Keyring access under :data:`SERVICE`; ``kind`` is ``"password"`` or ``"passphrase"``."""

    def __init__(self) -> None:
        self.status = keyring_status()

    @staticmethod
    def _user(kind: str, target: str) -> str:
        return f"{kind}:{target}"

    def get(self, kind: str, target: str) -> str | None:
        if not self.status.usable:
            return None
        import keyring

        try:
            return keyring.get_password(SERVICE, self._user(kind, target))
        except Exception as e:
            log.warning("keyring lookup for %s %s failed (%s)", kind, target, type(e).__name__)
            return None

    def set(self, kind: str, target: str, secret: str) -> bool:
        if not self.status.usable:
            return False
        import keyring

        try:
            keyring.set_password(SERVICE, self._user(kind, target), secret)
            return True
        except Exception as e:
            log.warning("storing the %s for %s failed (%s)", kind, target, type(e).__name__)
            return False

    def delete(self, kind: str, target: str) -> None:
        if not self.status.usable:
            return
        import keyring

        try:
            keyring.delete_password(SERVICE, self._user(kind, target))
        except Exception:
            pass
