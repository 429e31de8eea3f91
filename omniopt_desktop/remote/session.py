"""One SSH session to a host: jump hosts, strict host keys, auth, liveness, SFTP, commands.

Contract:
- ``Session(host, callbacks, options).connect()`` resolves ``host`` from ``~/.ssh/config``
  (:mod:`.ssh_config`), goes through every ``ProxyJump`` hop (each checked under its own name),
  checks the target's key under ``[host]:port`` / ``host`` (:mod:`.known_hosts`), authenticates
  (:mod:`.auth`) and starts the liveness monitor. One transport carries every command channel and
  the single SFTP channel, so a user with an OTP types it once per session.
- Liveness: every ``options.liveness_interval`` s (or ``ServerAliveInterval`` when smaller) a
  ``keepalive@openssh.com`` request must be answered within ``options.liveness_timeout`` s,
  else the state becomes LOST, the transport is closed (pending commands and transfers fail at
  once) and nothing reconnects by itself: :meth:`Session.reconnect` is explicit. The defaults
  (10 s + 15 s) detect a dead or frozen server within 30 s.
- :attr:`Session.state` is a :class:`ConnectionState`; :meth:`add_listener` observes changes.
- Thread safety: commands may run from several threads at once (one channel each); SFTP users
  hold :attr:`Session.sftp_lock` (``Transfer`` does), so transfers from several threads run one
  after the other; connect, reconnect and close from one thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import paramiko
from paramiko.common import MSG_CHANNEL_REQUEST
from paramiko.transport import Channel

from ..errors import HostKeyError, RemoteError
from .auth import authenticate
from .callbacks import AuthCallbacks, NoPrompts
from .files import app_known_hosts
from .known_hosts import (
    HostKeyInfo,
    KeyStatus,
    append_host_key,
    changed_message,
    known_key_types,
    lookup,
)
from .secrets import SecretStore
from .sftp_channel import open_sftp
from .ssh_config import HostConfig, resolve_host
from .state import ConnectionState, Listener, StateMachine

log = logging.getLogger(__name__)

WINDOW_SIZE = 4 * 1024 * 1024  # larger windows make paramiko's channel buffer copies dominate
MAX_PACKET = 32768
# a key type in known_hosts → the signature algorithms that prove it (RSA: SHA-2 first)
_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")}
GLOBAL_KNOWN_HOSTS = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")


class ConnectionLost(RemoteError):
    """The server stopped answering or the connection broke; reconnect explicitly."""


def _handle_channel_request(chan: Channel, m: paramiko.Message) -> None:
    """Like paramiko's handler, plus ``exit-signal`` (paramiko ignores it)."""
    pos = m.packet.tell()
    key = m.get_text()
    if key == "exit-signal":
        m.get_boolean()  # want reply (never, per RFC 4254)
        name = m.get_text()
        m.get_boolean()  # core dumped
        chan.oo_exit_signal = "SIG" + name if not name.startswith("SIG") else name  # type: ignore[attr-defined]
        chan.status_event.set()
        return
    m.packet.seek(pos)
    Channel._handle_request(chan, m)


class _Transport(paramiko.Transport):
    _channel_handler_table = dict(paramiko.Transport._channel_handler_table)
    _channel_handler_table[MSG_CHANNEL_REQUEST] = _handle_channel_request


@dataclass(frozen=True)
class SessionOptions:
    """Where to read configuration, and the timing bounds. All paths default to OpenSSH's."""

    ssh_config: str | None = None  # ~/.ssh/config
    known_hosts: tuple[str, ...] | None = None  # UserKnownHostsFile or ~/.ssh/known_hosts{,2}
    app_known_hosts: str | None = None  # platformdirs user data dir / known_hosts
    save_accepted_to: str = "user"  # "user": first known_hosts file; "app": the app's file
    connect_timeout: float = 15.0
    liveness_interval: float = 10.0
    liveness_timeout: float = 15.0
    window_size: int = WINDOW_SIZE
    use_agent: bool = True


@dataclass(frozen=True)
class SessionInfo:
    host: str  # user@host[:port]
    key_type: str
    fingerprint: str
    auth_methods: tuple[str, ...]
    jump_hosts: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


class Session:
    def __init__(
        self,
        host: str,
        callbacks: AuthCallbacks | None = None,
        options: SessionOptions | None = None,
        secrets: SecretStore | None = None,
    ) -> None:
        self.host = host
        self.callbacks: AuthCallbacks = callbacks or NoPrompts()
        self.options = options or SessionOptions()
        self.secrets = secrets or SecretStore()
        self._machine = StateMachine()
        self._transports: list[paramiko.Transport] = []
        self._sftp: paramiko.SFTPClient | None = None
        self._sftp_lock = threading.Lock()
        # paramiko's SFTP client reads answers without a lock: one SFTP user at a time
        self.sftp_lock = threading.RLock()
        self._monitor: threading.Thread | None = None
        self._stop = threading.Event()
        self.config: HostConfig | None = None
        self.info: SessionInfo | None = None
        self.facts: dict[str, object] = {}  # what was learnt about the remote (e.g. sha256sum)

    # -- state ---------------------------------------------------------------------------------
    @property
    def state(self) -> ConnectionState:
        return self._machine.state

    @property
    def state_reason(self) -> str:
        return self._machine.reason

    def add_listener(self, listener: Listener):
        return self._machine.add_listener(listener)

    def __enter__(self) -> Session:
        if self.state is not ConnectionState.CONNECTED:
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- connecting ----------------------------------------------------------------------------
    def _known_files(self, cfg: HostConfig) -> tuple[list[str], str]:
        user = list(
            self.options.known_hosts
            or cfg.user_known_hosts
            or (
                os.path.expanduser("~/.ssh/known_hosts"),
                os.path.expanduser("~/.ssh/known_hosts2"),
            )
        )
        app = self.options.app_known_hosts or app_known_hosts()
        target = user[0] if self.options.save_accepted_to == "user" else app
        return [*user, app, *GLOBAL_KNOWN_HOSTS], target

    def _check_host_key(self, t: paramiko.Transport, cfg: HostConfig) -> HostKeyInfo:
        key = t.get_remote_server_key()
        info = HostKeyInfo(cfg.key_name, key.get_name(), key.fingerprint, key.get_base64())
        files, target = self._known_files(cfg)
        verdict = lookup(cfg.key_name, key.get_name(), key.asbytes(), files)
        if verdict.status is KeyStatus.KNOWN:
            return info
        if verdict.status is KeyStatus.REVOKED:
            e = verdict.entry
            raise HostKeyError(
                f"the {info.key_type} host key {info.fingerprint} of {cfg.key_name} is marked "
                f"@revoked in {e.file}:{e.line}; refusing to connect. Ask the cluster's admins "
                f"for the current key"
            )
        if verdict.status is KeyStatus.CHANGED:
            raise HostKeyError(changed_message(info, verdict.entry))
        if not self.callbacks.confirm_host_key(info):
            raise HostKeyError(
                f"the {info.key_type} host key {info.fingerprint} of {cfg.key_name} is not known "
                f"and was not accepted; compare it with the fingerprint your admins publish, then "
                f"connect interactively or pass --accept-host-key {info.fingerprint}"
            )
        append_host_key(target, cfg.key_name, info.key_type, info.key_base64)
        log.info("added host key %s of %s to %s", info.fingerprint, cfg.key_name, target)
        return info

    def _open_transport(
        self, sock: object, cfg: HostConfig
    ) -> tuple[paramiko.Transport, HostKeyInfo, tuple[str, ...]]:
        t = _Transport(
            sock,
            default_window_size=self.options.window_size,
            default_max_packet_size=MAX_PACKET,
        )
        self._transports.append(t)
        files, _ = self._known_files(cfg)
        sec = t.get_security_options()
        known = [
            alg
            for k in known_key_types(cfg.key_name, files)
            for alg in _ALGORITHMS.get(k, (k,))
            if alg in sec.key_types
        ]
        if known:  # prefer the key types already recorded, as OpenSSH does
            sec.key_types = tuple(known) + tuple(k for k in sec.key_types if k not in known)
        ciphers = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
        sec.ciphers = tuple(c for c in ciphers if c in sec.ciphers) + tuple(
            c for c in sec.ciphers if c not in ciphers
        )
        try:
            t.start_client(timeout=cfg.connect_timeout or self.options.connect_timeout)
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise RemoteError(f"SSH handshake with {cfg.display} failed: {e}") from e
        info = self._check_host_key(t, cfg)
        if not self.options.use_agent:
            cfg = _replace(cfg, identity_agent="none")
        methods = authenticate(t, cfg, self.callbacks, self.secrets)
        return t, info, methods

    def connect(self) -> Session:
        """Open the session; raises RemoteError (HostKeyError, AuthenticationError) on failure."""
        if self.state is ConnectionState.CONNECTED:
            return self
        self._machine.move(ConnectionState.CONNECTING, f"connecting to {self.host}")
        try:
            self._connect()
        except BaseException as e:
            self._teardown()
            reason = str(e) if isinstance(e, RemoteError) else f"{type(e).__name__}: {e}"
            self._machine.move(ConnectionState.FAILED, reason)
            if isinstance(e, (RemoteError, KeyboardInterrupt)):
                raise
            if isinstance(e, (OSError, paramiko.SSHException, EOFError)):
                raise RemoteError(f"cannot connect to {self.host}: {e}") from e
            raise
        self._machine.move(ConnectionState.CONNECTED, f"connected to {self.info.host}")
        return self

    def _connect(self) -> None:
        cfg = resolve_host(self.host, self.options.ssh_config)
        self.config = cfg
        self.facts = {}
        warnings = [str(w) for w in cfg.warnings]
        hops = [resolve_host(h, self.options.ssh_config) for h in cfg.proxy_jump]
        for hop in hops:
            warnings += [f"{w} (jump host {hop.alias})" for w in hop.warnings]
            if hop.proxy_jump:
                warnings.append(
                    f"jump host {hop.alias} has its own ProxyJump ({','.join(hop.proxy_jump)}), "
                    f"which is not followed; list every hop in {cfg.alias}'s ProxyJump instead"
                )
        for w in warnings:
            self.callbacks.notify(w)
        chain = [*hops, cfg]
        first = chain[0]
        timeout = first.connect_timeout or self.options.connect_timeout
        try:
            tcp = socket.create_connection((first.hostname, first.port), timeout=timeout)
            # small SFTP requests must not wait for delayed ACKs (Nagle): 40 ms stalls otherwise
            tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock: object = tcp
        except OSError as e:
            raise RemoteError(
                f"cannot reach {first.hostname} port {first.port}: {e.strerror or e}"
            ) from e
        info = None
        methods: tuple[str, ...] = ()
        for i, hop in enumerate(chain):
            t, info, methods = self._open_transport(sock, hop)
            if i + 1 < len(chain):
                nxt = chain[i + 1]
                try:
                    sock = t.open_channel(
                        "direct-tcpip", (nxt.hostname, nxt.port), ("127.0.0.1", 0), timeout=timeout
                    )
                except (paramiko.SSHException, OSError) as e:
                    raise RemoteError(
                        f"jump host {hop.display} could not open a connection to "
                        f"{nxt.hostname}:{nxt.port}: {e}"
                    ) from e
        assert info is not None
        self.info = SessionInfo(
            cfg.display,
            info.key_type,
            info.fingerprint,
            methods,
            tuple(h.display for h in hops),
            tuple(warnings),
        )
        self._stop = threading.Event()
        self._monitor = threading.Thread(
            target=self._watch, args=(self._stop,), name=f"ssh-liveness {cfg.display}", daemon=True
        )
        self._monitor.start()

    @property
    def transport(self) -> paramiko.Transport:
        if self.state is not ConnectionState.CONNECTED or not self._transports:
            raise ConnectionLost(
                f"not connected to {self.host} ({self.state.value}"
                + (f": {self.state_reason}" if self.state_reason else "")
                + "); reconnect first"
            )
        return self._transports[-1]

    # -- liveness ------------------------------------------------------------------------------
    def _watch(self, stop: threading.Event) -> None:
        interval = self.options.liveness_interval
        if self.config is not None and self.config.server_alive_interval:
            # ServerAliveInterval may make probes more frequent, never the bound looser
            interval = min(interval, self.config.server_alive_interval)
        bound = self.options.liveness_timeout
        while not stop.wait(interval):
            transports = list(self._transports)
            if not transports:
                return
            if not all(t.is_active() for t in transports):
                self._lost("the connection was closed by the server or the network")
                return
            done = threading.Event()

            def probe(t: paramiko.Transport = transports[-1], done: threading.Event = done) -> None:
                try:
                    t.global_request("keepalive@openssh.com", wait=True)
                except Exception:
                    pass
                finally:
                    done.set()

            threading.Thread(target=probe, daemon=True, name="ssh-keepalive").start()
            if not done.wait(bound) and not stop.is_set():
                self._lost(
                    f"{self.host} did not answer a keepalive within {bound:g} s "
                    f"(server frozen or network down)"
                )
                return
            if not transports[-1].is_active() and not stop.is_set():
                self._lost("the connection was closed by the server or the network")
                return

    def _lost(self, reason: str) -> None:
        log.warning("connection to %s lost: %s", self.host, reason)
        if self._machine.move(ConnectionState.LOST, reason):
            self._teardown(stop_monitor=False)

    def transport_is_active(self) -> bool:
        """False (and the state moved to LOST) once the connection is gone."""
        if self.state is not ConnectionState.CONNECTED or not self._transports:
            return False
        if not self._transports[-1].is_active():
            self._lost("the connection was closed by the server or the network")
            return False
        return True

    def settle_after_eof(self, within: float = 3.0) -> bool:
        """After an EOF or reset on a channel: wait up to ``within`` s for the transport to see
        the connection gone (the state then moves to LOST); False if it stays active (only the
        channel ended)."""
        deadline = time.monotonic() + within
        while self.transport_is_active():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def check_alive(self) -> None:
        """Raise ConnectionLost unless the session is connected and its transport active."""
        t = self.transport
        if not t.is_active():
            self._lost("the connection was closed by the server or the network")
            raise ConnectionLost(f"connection to {self.host} lost; reconnect first")

    # -- channels ------------------------------------------------------------------------------
    def open_channel(self, timeout: float | None = None) -> Channel:
        t = self.transport
        try:
            return t.open_session(
                window_size=self.options.window_size,
                max_packet_size=MAX_PACKET,
                timeout=timeout or self.options.connect_timeout,
            )
        except (paramiko.SSHException, OSError, EOFError) as e:
            self.check_alive()
            raise RemoteError(f"{self.host} refused a new channel: {e}") from e

    def sftp(self) -> paramiko.SFTPClient:
        """The session's one SFTP client (opened on first use)."""
        with self._sftp_lock:
            if self._sftp is not None and not self._sftp.sock.closed:
                return self._sftp
            t = self.transport
            try:
                self._sftp = open_sftp(t, self.options.window_size, MAX_PACKET)
            except Exception as e:
                self._sftp = None
                from .noisy_shell import diagnose_sftp_failure

                raise diagnose_sftp_failure(self, e) from e
            if self._sftp is None:
                raise RemoteError(
                    f"{self.host} refused the SFTP subsystem; ask the admins whether SFTP is enabled"
                )
            return self._sftp

    def runner(self):
        from .ssh_runner import SSHRunner

        return SSHRunner(self)

    # -- closing -------------------------------------------------------------------------------
    def _teardown(self, stop_monitor: bool = True) -> None:
        if stop_monitor:
            self._stop.set()
        sftp, self._sftp = self._sftp, None
        if sftp is not None:
            try:
                sftp.close()
            except Exception:
                pass
        for t in reversed(self._transports):
            try:
                t.close()
            except Exception:
                pass
        self._transports = []

    def close(self) -> None:
        self._stop.set()
        self._teardown()
        self._machine.move(ConnectionState.CLOSED, "closed")

    def reconnect(self) -> Session:
        """Close whatever is left and connect again (asks for OTPs again if the server wants)."""
        self._stop.set()
        self._teardown()
        return self.connect()


def _replace(cfg: HostConfig, **kw: object) -> HostConfig:
    import dataclasses

    return dataclasses.replace(cfg, **kw)
