"""Resolve a HOST argument the way OpenSSH would, from ``~/.ssh/config``.

Contract:
- ``resolve_host(host, config_path=None)`` → :class:`HostConfig`. ``host`` is a config alias or
  ``[user@]host[:port]`` (``[v6addr]:port`` too); user/port given on the command line win over the
  config, as in OpenSSH.
- Supported: ``Host`` (patterns, ``!negation``), ``Match all|host|originalhost|user|localuser``,
  ``Include`` (globs, relative to ``~/.ssh``, nested), first-value-wins, ``IdentityFile``
  accumulating, ``%h %p %r %u %n %d %l %i %%`` tokens and ``~`` in paths.
- Never runs anything: ``Match exec`` is reported and treated as not matching.
- Every directive that applies to the host but that this app does not honour is listed in
  ``HostConfig.warnings`` with its file and line (never silently ignored).
"""

from __future__ import annotations

import getpass
import glob
import os
import shlex
import socket
from dataclasses import dataclass, field

from ..errors import RemoteError
from .patterns import wildcard_match

DEFAULT_IDENTITIES = ("id_rsa", "id_ecdsa", "id_ed25519")

# directives this module turns into HostConfig fields
_SUPPORTED = {
    "hostname",
    "user",
    "port",
    "identityfile",
    "identitiesonly",
    "proxyjump",
    "serveraliveinterval",
    "serveralivecountmax",
    "connecttimeout",
    "identityagent",
    "userknownhostsfile",
    "stricthostkeychecking",
    "hashknownhosts",
    "preferredauthentications",
    "passwordauthentication",
    "kbdinteractiveauthentication",
    "pubkeyauthentication",
    "batchmode",
}
# no effect for this client (reported more mildly than unsupported directives)
_IRRELEVANT = {
    "addkeystoagent",
    "usekeychain",
    "compression",
    "loglevel",
    "tcpkeepalive",
    "visualhostkey",
    "updatehostkeys",
    "controlmaster",
    "controlpath",
    "controlpersist",
    "forwardx11",
    "forwardx11trusted",
    "forwardagent",
    "requesttty",
    "sendenv",
    "setenv",
    "checkhostip",
    "hostkeyalias",  # warned separately below when it changes the key name
}


@dataclass(frozen=True)
class ConfigWarning:
    file: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.text}"


@dataclass(frozen=True)
class HostConfig:
    """Everything needed to open one SSH connection (jump hosts resolved separately)."""

    alias: str
    hostname: str
    port: int
    user: str
    identity_files: tuple[str, ...] = ()
    identities_only: bool = False
    proxy_jump: tuple[str, ...] = ()
    server_alive_interval: float | None = None
    connect_timeout: float | None = None
    identity_agent: str | None = None  # None: $SSH_AUTH_SOCK; "none": no agent
    user_known_hosts: tuple[str, ...] = ()
    preferred_auth: tuple[str, ...] = ()
    batch_mode: bool = False
    warnings: tuple[ConfigWarning, ...] = field(default=(), compare=False)

    @property
    def key_name(self) -> str:
        """The name the host key is looked up under (``[host]:port`` off port 22)."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"

    @property
    def display(self) -> str:
        return f"{self.user}@{self.hostname}" + ("" if self.port == 22 else f":{self.port}")


def default_config_path() -> str:
    return os.path.expanduser("~/.ssh/config")


def split_host_arg(text: str) -> tuple[str | None, str, int | None]:
    """``[user@]host[:port]`` → (user, host, port); ``ssh://user@host:port`` accepted too."""
    s = text.strip()
    if s.startswith("ssh://"):
        s = s[len("ssh://") :].rstrip("/")
    if not s:
        raise RemoteError("empty host: give a ~/.ssh/config alias or user@host[:port]")
    user = None
    if "@" in s:
        user, s = s.rsplit("@", 1)
        if not user:
            raise RemoteError(f"host '{text}': empty user name before '@'")
    port: int | None = None
    if s.startswith("["):
        close = s.find("]")
        if close < 0:
            raise RemoteError(f"host '{text}': missing ']' after an IPv6 address")
        host, rest = s[1:close], s[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise RemoteError(f"host '{text}': expected ':port' after ']'")
            port = _port(rest[1:], text)
    elif s.count(":") == 1:
        host, p = s.split(":")
        port = _port(p, text)
    else:
        host = s
    if not host:
        raise RemoteError(f"host '{text}': empty host name")
    return user, host, port


def _port(p: str, where: str) -> int:
    try:
        n = int(p)
    except ValueError:
        n = -1
    if not 0 < n < 65536:
        raise RemoteError(f"{where}: port '{p}' is not a number between 1 and 65535")
    return n


def _match_patterns(name: str, patterns: list[str]) -> bool:
    """OpenSSH pattern lists: any positive match and no negated match (case-insensitive)."""
    name = name.lower()
    ok = False
    for pat in patterns:
        for p in pat.split(","):
            neg = p.startswith("!")
            p = p[1:] if neg else p
            if wildcard_match(name, p.lower()):
                if neg:
                    return False
                ok = True
    return ok


def _split_line(raw: str) -> tuple[str, list[str]] | None:
    line = raw.strip()
    if not line or line.startswith("#"):
        return None
    # "Keyword value", "Keyword=value", "Keyword = value"
    first = line.split(None, 1)[0]
    if "=" in first:
        key, _, value = line.partition("=")
        key = key.strip()
    else:
        parts = line.split(None, 1)
        key = parts[0]
        value = parts[1].strip() if len(parts) > 1 else ""
        if value.startswith("="):
            value = value[1:].strip()
    try:
        args = shlex.split(value, comments=True)
    except ValueError:
        args = value.split()
    return key.lower(), args


@dataclass
class _State:
    alias: str
    values: dict[str, list[str]]
    cmd_user: str | None
    warnings: list[ConfigWarning]
    depth: int = 0


def _hostname_now(st: _State) -> str:
    v = st.values.get("hostname")
    return v[0].replace("%h", st.alias) if v else st.alias


def _eval_match(args: list[str], st: _State, file: str, lineno: int) -> bool:
    i = 0
    result = True
    while i < len(args):
        crit = args[i].lower()
        neg = crit.startswith("!")
        crit = crit[1:] if neg else crit
        if crit in ("all", "canonical", "final"):
            ok = crit == "all"
            if crit != "all":
                st.warnings.append(
                    ConfigWarning(file, lineno, f"'Match {crit}' is not supported; block skipped")
                )
            i += 1
        else:
            if i + 1 >= len(args):
                st.warnings.append(
                    ConfigWarning(file, lineno, f"'Match {crit}' lacks its argument")
                )
                return False
            arg = args[i + 1]
            i += 2
            if crit == "host":
                ok = _match_patterns(_hostname_now(st), [arg])
            elif crit == "originalhost":
                ok = _match_patterns(st.alias, [arg])
            elif crit == "user":
                user = st.cmd_user or (st.values.get("user") or [getpass.getuser()])[0]
                ok = _match_patterns(user, [arg])
            elif crit == "localuser":
                ok = _match_patterns(getpass.getuser(), [arg])
            elif crit == "exec":
                st.warnings.append(
                    ConfigWarning(
                        file, lineno, "'Match exec' is never run by OmniOpt Desktop; block skipped"
                    )
                )
                ok = False
            else:
                st.warnings.append(
                    ConfigWarning(file, lineno, f"'Match {crit}' is not supported; block skipped")
                )
                ok = False
        result = result and (not ok if neg else ok)
    return result


def _read(path: str, st: _State, active: bool) -> None:
    if st.depth > 16:
        raise RemoteError(f"{path}: Include nested more than 16 deep (a loop?)")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return
    except OSError as e:
        raise RemoteError(f"cannot read SSH config {path}: {e.strerror}") from e
    for lineno, raw in enumerate(lines, 1):
        parsed = _split_line(raw)
        if parsed is None:
            continue
        key, args = parsed
        if key == "host":
            active = _match_patterns(st.alias, args)
            continue
        if key == "match":
            active = _eval_match(args, st, path, lineno)
            continue
        if not active:
            continue
        if key == "include":
            for pattern in args:
                p = os.path.expanduser(pattern)
                if not os.path.isabs(p):
                    p = os.path.join(os.path.expanduser("~/.ssh"), p)
                st.depth += 1
                for inc in sorted(glob.glob(p)):
                    _read(inc, st, active)
                st.depth -= 1
            continue
        if key in _SUPPORTED:
            if key == "identityfile" or key == "userknownhostsfile":
                st.values.setdefault(key, []).extend(args)
            elif key not in st.values:
                st.values[key] = args
            if key == "stricthostkeychecking" and args and args[0].lower() in ("no", "off"):
                st.warnings.append(
                    ConfigWarning(
                        path,
                        lineno,
                        "StrictHostKeyChecking no is not honoured: unknown host keys are "
                        "always confirmed first",
                    )
                )
            continue
        if key in _IRRELEVANT and key != "hostkeyalias":
            st.warnings.append(
                ConfigWarning(path, lineno, f"'{raw.strip()}' has no effect in OmniOpt Desktop")
            )
            continue
        st.warnings.append(
            ConfigWarning(
                path, lineno, f"'{raw.strip()}' is not supported by OmniOpt Desktop and is ignored"
            )
        )


def _expand(value: str, tokens: dict[str, str]) -> str:
    out = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "%" and i + 1 < len(value):
            t = value[i + 1]
            out.append("%" if t == "%" else tokens.get(t, "%" + t))
            i += 2
        else:
            out.append(c)
            i += 1
    return os.path.expanduser("".join(out))


def resolve_host(host: str, config_path: str | None = None) -> HostConfig:
    """Resolve ``host`` (alias or ``[user@]host[:port]``) with the SSH config file."""
    user, alias, port = split_host_arg(host)
    st = _State(alias=alias, values={}, cmd_user=user, warnings=[])
    _read(config_path or default_config_path(), st, True)
    v = st.values

    def first(key: str) -> str | None:
        return v[key][0] if v.get(key) else None

    hostname = (first("hostname") or alias).replace("%h", alias)
    if port is None:
        p = first("port")
        port = _port(p, f"Port in {config_path or default_config_path()}") if p else 22
    user = user or first("user") or getpass.getuser()
    local_user = getpass.getuser()
    tokens = {
        "h": hostname,
        "p": str(port),
        "r": user,
        "u": local_user,
        "n": alias,
        "d": os.path.expanduser("~"),
        "l": socket.gethostname().split(".")[0],
        "i": str(os.getuid()) if hasattr(os, "getuid") else "0",
    }
    ids = v.get("identityfile")
    if ids and any(i.lower() == "none" for i in ids):
        identity_files: tuple[str, ...] = ()
    elif ids:
        identity_files = tuple(dict.fromkeys(_expand(i, tokens) for i in ids))
    else:
        identity_files = tuple(
            p
            for p in (os.path.expanduser(f"~/.ssh/{n}") for n in DEFAULT_IDENTITIES)
            if os.path.exists(p)
        )
    jump = first("proxyjump")
    hops: tuple[str, ...] = ()
    if jump and jump.lower() != "none":
        hops = tuple(h.strip() for h in jump.split(",") if h.strip())
    agent = first("identityagent")
    if agent is not None and agent.lower() not in ("none", "ssh_auth_sock"):
        agent = _expand(
            agent.replace("$SSH_AUTH_SOCK", os.environ.get("SSH_AUTH_SOCK", "")), tokens
        )
    elif agent is not None:
        agent = None if agent.lower() == "ssh_auth_sock" else "none"

    def seconds(key: str) -> float | None:
        s = first(key)
        if s is None:
            return None
        try:
            return float(s)
        except ValueError:
            raise RemoteError(f"{key} '{s}' in the SSH config is not a number of seconds") from None

    known = v.get("userknownhostsfile") or []
    known_files = tuple(_expand(k, tokens) for k in known if k.lower() != "none")
    pref = first("preferredauthentications")
    return HostConfig(
        alias=alias,
        hostname=hostname,
        port=port,
        user=user,
        identity_files=identity_files,
        identities_only=(first("identitiesonly") or "no").lower() == "yes",
        proxy_jump=hops,
        server_alive_interval=seconds("serveraliveinterval"),
        connect_timeout=seconds("connecttimeout"),
        identity_agent=agent,
        user_known_hosts=known_files,
        preferred_auth=tuple(pref.split(",")) if pref else (),
        batch_mode=(first("batchmode") or "no").lower() == "yes",
        warnings=tuple(st.warnings),
    )
