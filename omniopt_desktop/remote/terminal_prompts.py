""":class:`~omniopt_desktop.remote.callbacks.AuthCallbacks` for terminals (the CLI).

Prompts go to stderr and are read from the controlling terminal with :mod:`getpass` (no echo for
secrets). Without a terminal (scripts, CI) nothing is asked: unknown host keys are refused
unless their fingerprint was given with ``--accept-host-key``, and secrets are not available.
"""

from __future__ import annotations

import getpass
import sys

from .callbacks import InteractiveRound, SecretAnswer, SecretRequest
from .known_hosts import HostKeyInfo


class TerminalPrompts:
    def __init__(self, accept_fingerprints: tuple[str, ...] = (), interactive: bool | None = None):
        self.accept_fingerprints = tuple(accept_fingerprints)
        self.interactive = sys.stdin.isatty() if interactive is None else interactive

    def _say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    @staticmethod
    def _line(prompt: str) -> str:
        """Read one echoed line; the prompt goes to stderr (stdout carries the command's output)."""
        print(prompt, end="", file=sys.stderr, flush=True)
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def confirm_host_key(self, info: HostKeyInfo) -> bool:
        if info.fingerprint in self.accept_fingerprints:
            self._say(
                f"accepting {info.key_type} host key {info.fingerprint} of {info.host} (as given)"
            )
            return True
        if self.accept_fingerprints:
            self._say(
                f"the host key of {info.host} is {info.fingerprint}, not the one given with "
                f"--accept-host-key"
            )
            return False
        if not self.interactive:
            return False
        self._say(
            f"The authenticity of host '{info.host}' can't be established.\n"
            f"{info.key_type} key fingerprint is {info.fingerprint}."
        )
        try:
            answer = self._line("Are you sure you want to continue connecting (yes/no)? ")
        except (EOFError, KeyboardInterrupt):
            return False
        return answer.strip().lower() == "yes"

    def _secret(self, prompt: str, request: SecretRequest) -> SecretAnswer | None:
        if not self.interactive:
            return None
        if request.attempt > 1:
            self._say("Permission denied, please try again.")
        try:
            secret = getpass.getpass(prompt)
        except (EOFError, KeyboardInterrupt):
            return None
        remember = False
        if request.can_remember:
            try:
                remember = self._line("Remember it in the system keyring (y/N)? ").lower() == "y"
            except (EOFError, KeyboardInterrupt):
                remember = False
        return SecretAnswer(secret, remember)

    def ask_password(self, request: SecretRequest) -> SecretAnswer | None:
        return self._secret(f"{request.target}'s password: ", request)

    def ask_passphrase(self, request: SecretRequest) -> SecretAnswer | None:
        return self._secret(f"Enter passphrase for key '{request.target}': ", request)

    def ask_interactive(self, round: InteractiveRound) -> list[str] | None:
        if not self.interactive:
            return None
        for text in (round.name, round.instructions):
            if text.strip():
                self._say(text.strip())
        answers = []
        try:
            for p in round.prompts:
                answers.append(self._line(p.text) if p.echo else getpass.getpass(p.text))
        except (EOFError, KeyboardInterrupt):
            return None
        return answers

    def notify(self, message: str) -> None:
        self._say(f"note: {message}")
