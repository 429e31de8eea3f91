"""What a session asks the user, as a small Qt-free protocol.

A session never reads stdin and never opens a window itself: it calls an object implementing
:class:`AuthCallbacks`. The CLI implements it with terminal prompts
(:class:`omniopt_desktop.remote.terminal_prompts.TerminalPrompts`, getpass); the GUI implements
it with dialogs. Calls arrive on a worker thread (the connecting thread; for
``ask_interactive`` paramiko's transport thread), never the GUI thread, so a GUI implementation
must block the calling thread until the dialog on the GUI thread is answered. An exception
raised by ``ask_interactive`` counts as a cancel.

Methods (all may be called several times per connection, in this order of need):

``confirm_host_key(info: HostKeyInfo) -> bool``
    An unknown host key: show ``info.host``, ``info.key_type`` and ``info.fingerprint``
    (``SHA256:...``). True accepts it; the key is then appended to the known-hosts file.
    Never called for a changed or revoked key (those are refused outright).
``ask_password(request: SecretRequest) -> SecretAnswer | None``
    The account password of ``request.target`` (``user@host``). None cancels.
``ask_passphrase(request: SecretRequest) -> SecretAnswer | None``
    The passphrase of the encrypted key file ``request.target``. None skips that key.
``ask_interactive(round: InteractiveRound) -> list[str] | None``
    One keyboard-interactive round (two-factor/OTP prompts): one answer per prompt, in order.
    None cancels. Answers are never stored.
``notify(message: str) -> None``
    Something the user should know (unsupported ssh_config lines, no keyring available, ...).

``request.attempt`` counts from 1; a second call for the same target means the previous answer
was wrong. ``SecretAnswer.remember`` asks the session to store the secret in the keyring.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .known_hosts import HostKeyInfo


@dataclass(frozen=True)
class SecretRequest:
    target: str  # "user@host" for passwords, the key file path for passphrases
    attempt: int = 1
    can_remember: bool = True  # False when no usable keyring backend exists


@dataclass(frozen=True)
class SecretAnswer:
    secret: str = field(repr=False)
    remember: bool = False


@dataclass(frozen=True)
class InteractivePrompt:
    text: str
    echo: bool


@dataclass(frozen=True)
class InteractiveRound:
    target: str  # "user@host"
    name: str
    instructions: str
    prompts: tuple[InteractivePrompt, ...]
    round: int = 1


class AuthCallbacks(Protocol):
    def confirm_host_key(self, info: HostKeyInfo) -> bool: ...

    def ask_password(self, request: SecretRequest) -> SecretAnswer | None: ...

    def ask_passphrase(self, request: SecretRequest) -> SecretAnswer | None: ...

    def ask_interactive(self, round: InteractiveRound) -> list[str] | None: ...

    def notify(self, message: str) -> None: ...


class NoPrompts:
    """For scripts and background reconnects: accepts only pre-approved host keys, asks nothing.

    ``accept_fingerprints`` are ``SHA256:...`` strings accepted without asking
    (``ssh-check --accept-host-key``). Notices are collected in ``notices``.
    """

    def __init__(self, accept_fingerprints: tuple[str, ...] = ()) -> None:
        self.accept_fingerprints = tuple(accept_fingerprints)
        self.notices: list[str] = []

    def confirm_host_key(self, info: HostKeyInfo) -> bool:
        return info.fingerprint in self.accept_fingerprints

    def ask_password(self, request: SecretRequest) -> SecretAnswer | None:
        return None

    def ask_passphrase(self, request: SecretRequest) -> SecretAnswer | None:
        return None

    def ask_interactive(self, round: InteractiveRound) -> list[str] | None:
        return None

    def notify(self, message: str) -> None:
        self.notices.append(message)
