"""Client authentication on an already key-checked paramiko transport.

Contract: :func:`authenticate` tries, in OpenSSH's order (or the config's
``PreferredAuthentications``): publickey (agent keys, then ``IdentityFile`` keys; encrypted
keys get their passphrase from the keyring or ``callbacks.ask_passphrase``), keyboard-interactive
(every round through ``callbacks.ask_interactive`` via ``Transport.auth_interactive`` — stdin is
never read), password (keyring, then ``callbacks.ask_password``). A partial success (a server that
demands ``publickey,keyboard-interactive``) continues with the methods the server still allows.
Returns the methods that succeeded, e.g. ``("publickey (agent)", "keyboard-interactive")``.
Raises :class:`AuthenticationError` with a message that names the methods tried, never a secret.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
from dataclasses import dataclass

import paramiko
import paramiko.agent

from ..errors import AuthenticationError
from .callbacks import AuthCallbacks, InteractivePrompt, InteractiveRound, SecretRequest
from .secrets import SecretStore
from .ssh_config import HostConfig

log = logging.getLogger(__name__)
MAX_SECRET_ATTEMPTS = 3
DEFAULT_ORDER = ("publickey", "keyboard-interactive", "password")


@dataclass
class _Progress:
    tried: list[str]
    done: list[str]
    cancelled: bool = False
    agent: _Agent | None = None  # closed when authentication ends


def _load_public_blob(path: str) -> bytes | None:
    try:
        with open(path + ".pub", encoding="ascii", errors="replace") as fh:
            parts = fh.read().split()
        return base64.b64decode(parts[1]) if len(parts) >= 2 else None
    except (OSError, ValueError):
        return None


class _Agent(paramiko.agent.AgentSSH):
    """An ssh-agent client on an explicit socket path (no change to os.environ)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(path)
        self._connect(sock)

    def close(self) -> None:
        self._close()


def _agent_keys(cfg: HostConfig, progress: _Progress) -> list[paramiko.PKey]:
    if cfg.identity_agent == "none":
        return []
    path = cfg.identity_agent or os.environ.get("SSH_AUTH_SOCK")
    if not path:
        return []
    try:
        agent = _Agent(path)
        progress.agent = agent
        keys = list(agent.get_keys())
    except Exception as e:
        log.info("ssh-agent at %s not usable: %s", path, type(e).__name__)
        return []
    if cfg.identities_only:
        wanted = {_load_public_blob(p) for p in cfg.identity_files} - {None}
        keys = [k for k in keys if k.asbytes() in wanted]
    return keys


def _load_key(path: str, callbacks: AuthCallbacks, secrets: SecretStore) -> paramiko.PKey | None:
    try:
        return paramiko.PKey.from_path(path)
    except (paramiko.PasswordRequiredException, TypeError):
        pass  # encrypted (cryptography raises TypeError when no password was given)
    except FileNotFoundError:
        return None
    except (paramiko.SSHException, ValueError, OSError) as e:
        callbacks.notify(f"key file {path} could not be read ({type(e).__name__}); skipped")
        return None
    stored = secrets.get("passphrase", path)
    if stored is not None:
        try:
            return paramiko.PKey.from_path(path, stored.encode())
        except (paramiko.SSHException, ValueError, TypeError):
            log.info("stored passphrase for %s no longer fits", path)
    for attempt in range(1, MAX_SECRET_ATTEMPTS + 1):
        answer = callbacks.ask_passphrase(
            SecretRequest(path, attempt, can_remember=secrets.status.usable)
        )
        if answer is None:
            return None
        try:
            key = paramiko.PKey.from_path(path, answer.secret.encode())
        except (paramiko.SSHException, ValueError, TypeError):
            continue
        if answer.remember:
            _remember(secrets, callbacks, "passphrase", path, answer.secret)
        return key
    callbacks.notify(f"wrong passphrase for {path} {MAX_SECRET_ATTEMPTS} times; key skipped")
    return None


def _remember(
    secrets: SecretStore, callbacks: AuthCallbacks, kind: str, target: str, secret: str
) -> None:
    if not secrets.status.usable:
        callbacks.notify(f"{kind} not remembered: {secrets.status.reason}")
    elif not secrets.set(kind, target, secret):
        callbacks.notify(f"{kind} not remembered: the keyring refused to store it")


def _try_publickey(
    t: paramiko.Transport,
    cfg: HostConfig,
    callbacks: AuthCallbacks,
    secrets: SecretStore,
    progress: _Progress,
) -> list[str] | None:
    """None: no key worked; else the methods still required (empty: done)."""
    seen: set[bytes] = set()
    candidates: list[tuple[str, object]] = [("agent", k) for k in _agent_keys(cfg, progress)]
    candidates += [("file", p) for p in cfg.identity_files]
    for source, item in candidates:
        if source == "file":
            blob = _load_public_blob(str(item))
            if blob is not None and blob in seen:
                continue  # the agent already offered this key
            key = _load_key(str(item), callbacks, secrets)
            label = f"publickey ({item})"
        else:
            key = item  # type: ignore[assignment]
            label = "publickey (agent)"
        if key is None:
            continue
        blob = key.asbytes()
        if blob in seen:
            continue
        seen.add(blob)
        progress.tried.append(label)
        try:
            remaining = t.auth_publickey(cfg.user, key)
        except paramiko.BadAuthenticationType:
            return None
        except paramiko.AuthenticationException:
            continue
        progress.done.append(label)
        return list(remaining)
    return None


def _try_interactive(
    t: paramiko.Transport, cfg: HostConfig, callbacks: AuthCallbacks, progress: _Progress
) -> list[str] | None:
    rounds = [0]

    def handler(title: str, instructions: str, prompts: list[tuple[str, bool]]) -> list[str]:
        if not prompts:
            return []
        if progress.cancelled:
            return [""] * len(prompts)
        rounds[0] += 1
        try:  # runs on paramiko's transport thread: an exception here would kill the transport
            answers = callbacks.ask_interactive(
                InteractiveRound(
                    cfg.display,
                    title,
                    instructions,
                    tuple(InteractivePrompt(p, bool(e)) for p, e in prompts),
                    rounds[0],
                )
            )
        except Exception:
            log.exception("keyboard-interactive callback failed")
            answers = None
        if answers is None or len(answers) != len(prompts):
            progress.cancelled = True
            return [""] * len(prompts)
        return [str(a) for a in answers]

    progress.tried.append("keyboard-interactive")
    try:
        remaining = t.auth_interactive(cfg.user, handler)
    except paramiko.BadAuthenticationType:
        return None
    except paramiko.AuthenticationException:
        if progress.cancelled:
            raise AuthenticationError(f"login to {cfg.display} cancelled at a prompt") from None
        raise AuthenticationError(
            f"keyboard-interactive login to {cfg.display} was rejected after {rounds[0]} "
            f"prompt round(s): a wrong answer (password or one-time code)? Connect again to retry"
        ) from None
    progress.done.append("keyboard-interactive")
    return list(remaining)


def _try_password(
    t: paramiko.Transport,
    cfg: HostConfig,
    callbacks: AuthCallbacks,
    secrets: SecretStore,
    progress: _Progress,
) -> list[str] | None:
    target = f"{cfg.user}@{cfg.hostname}:{cfg.port}"
    progress.tried.append("password")
    stored = secrets.get("password", target)
    if stored is not None:
        try:
            remaining = t.auth_password(cfg.user, stored, fallback=False)
            progress.done.append("password (keyring)")
            return list(remaining)
        except paramiko.BadAuthenticationType:
            return None
        except paramiko.AuthenticationException:
            log.info("stored password for %s was rejected", target)
    for attempt in range(1, MAX_SECRET_ATTEMPTS + 1):
        answer = callbacks.ask_password(
            SecretRequest(cfg.display, attempt, can_remember=secrets.status.usable)
        )
        if answer is None:
            return None
        try:
            remaining = t.auth_password(cfg.user, answer.secret, fallback=False)
        except paramiko.BadAuthenticationType:
            return None
        except paramiko.AuthenticationException:
            continue
        if answer.remember:
            _remember(secrets, callbacks, "password", target, answer.secret)
        progress.done.append("password")
        return list(remaining)
    raise AuthenticationError(
        f"password for {cfg.display} rejected {MAX_SECRET_ATTEMPTS} times; check the user name "
        f"and password"
    )


def authenticate(
    t: paramiko.Transport, cfg: HostConfig, callbacks: AuthCallbacks, secrets: SecretStore
) -> tuple[str, ...]:
    progress = _Progress([], [])
    try:
        t.auth_none(cfg.user)
        return ("none",)
    except paramiko.BadAuthenticationType as e:
        allowed = list(e.allowed_types)
    except paramiko.AuthenticationException:
        allowed = list(DEFAULT_ORDER)
    except paramiko.SSHException as e:
        raise AuthenticationError(f"{cfg.display}: connection broke during login ({e})") from e
    order = [m for m in (cfg.preferred_auth or DEFAULT_ORDER) if m in DEFAULT_ORDER]
    try:
        return _run_methods(t, cfg, callbacks, secrets, progress, allowed, order)
    finally:
        if progress.agent is not None:
            progress.agent.close()


def _run_methods(
    t: paramiko.Transport,
    cfg: HostConfig,
    callbacks: AuthCallbacks,
    secrets: SecretStore,
    progress: _Progress,
    allowed: list[str],
    order: list[str],
) -> tuple[str, ...]:
    attempted: set[str] = set()
    try:
        while True:
            method = next((m for m in order if m in allowed and m not in attempted), None)
            if method is None:
                break
            attempted.add(method)
            if method == "publickey":
                remaining = _try_publickey(t, cfg, callbacks, secrets, progress)
            elif method == "keyboard-interactive":
                remaining = _try_interactive(t, cfg, callbacks, progress)
            else:
                remaining = _try_password(t, cfg, callbacks, secrets, progress)
            if remaining is None:
                continue
            if not remaining:
                return tuple(progress.done)
            allowed = remaining  # partial success: the server wants another method
    except paramiko.SSHException as e:
        if isinstance(e, paramiko.AuthenticationException):
            raise AuthenticationError(
                f"login to {cfg.display} failed ({type(e).__name__})"
            ) from None
        raise AuthenticationError(f"{cfg.display}: connection broke during login ({e})") from e
    tried = ", ".join(dict.fromkeys(progress.tried)) or "nothing usable"
    raise AuthenticationError(
        f"login to {cfg.display} failed: tried {tried}; the server accepts "
        f"{', '.join(allowed) or 'nothing'}. Check User/IdentityFile in ~/.ssh/config, "
        f"load your key into ssh-agent, or enter the password when asked"
    )
