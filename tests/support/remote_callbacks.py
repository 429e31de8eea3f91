"""Scripted AuthCallbacks for tests."""

from __future__ import annotations

from omniopt_desktop.remote.callbacks import SecretAnswer


class Scripted:
    """Answers from lists; records every question asked."""

    def __init__(self, *, accept=False, passwords=(), passphrases=(), rounds=(), remember=False):
        self.accept = accept
        self.passwords = list(passwords)
        self.passphrases = list(passphrases)
        self.rounds = list(rounds)
        self.remember = remember
        self.asked: list[tuple[str, object]] = []
        self.notices: list[str] = []

    def confirm_host_key(self, info):
        self.asked.append(("host_key", info))
        return self.accept

    def ask_password(self, request):
        self.asked.append(("password", request))
        return SecretAnswer(self.passwords.pop(0), self.remember) if self.passwords else None

    def ask_passphrase(self, request):
        self.asked.append(("passphrase", request))
        return SecretAnswer(self.passphrases.pop(0), self.remember) if self.passphrases else None

    def ask_interactive(self, round):
        self.asked.append(("interactive", round))
        return self.rounds.pop(0) if self.rounds else None

    def notify(self, message):
        self.notices.append(message)
