"""Host-key checking as strict as OpenSSH's ``StrictHostKeyChecking=ask``.

Contract:
- :func:`lookup` reads OpenSSH ``known_hosts`` files (hashed ``|1|salt|hmac`` entries, patterns
  with ``*``/``?``/``!``, ``[host]:port``, ``@revoked``; ``@cert-authority`` lines and unknown key
  types are skipped, never dropped from the file) and answers KNOWN / UNKNOWN / CHANGED /
  REVOKED with the file and line that decided it.
- :func:`append_host_key` adds exactly one line to a file (``O_APPEND``; a new file gets mode
  0600 and a new folder 0700). Files are never rewritten.
- Fingerprints are OpenSSH's ``SHA256:<base64 without padding>``.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import HostKeyError
from .files import ensure_private_dir
from .patterns import wildcard_match


class KeyStatus(enum.Enum):
    KNOWN = "known"
    UNKNOWN = "unknown"
    CHANGED = "changed"
    REVOKED = "revoked"


@dataclass(frozen=True)
class HostKeyInfo:
    """What the user is asked to confirm: ``host`` is the lookup name (``[h]:port`` off 22)."""

    host: str
    key_type: str
    fingerprint: str
    key_base64: str


@dataclass(frozen=True)
class KnownEntry:
    file: str
    line: int
    marker: str  # "", "@revoked", "@cert-authority"
    patterns: str
    key_type: str
    key_blob: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key_blob)


@dataclass(frozen=True)
class Verdict:
    status: KeyStatus
    entry: KnownEntry | None = None  # the line that decided it (KNOWN, CHANGED, REVOKED)


def fingerprint(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _host_matches(name: str, patterns: str) -> bool:
    name = name.lower()
    if patterns.startswith("|1|"):
        try:
            _, _, salt64, hash64 = patterns.split("|", 3)
            salt = base64.b64decode(salt64)
            want = base64.b64decode(hash64)
        except (ValueError, TypeError):
            return False
        got = hmac.new(salt, name.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(got, want)
    ok = False
    for p in patterns.split(","):
        neg = p.startswith("!")
        p = (p[1:] if neg else p).lower()
        if wildcard_match(name, p):
            if neg:
                return False
            ok = True
    return ok


def read_entries(path: str) -> list[KnownEntry]:
    """Every usable line of one known_hosts file (missing file → [])."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return []
    except OSError as e:
        raise HostKeyError(f"cannot read known-hosts file {path}: {e.strerror}") from e
    out = []
    for n, raw in enumerate(lines, 1):
        parts = raw.split()
        if not parts or parts[0].startswith("#"):
            continue
        marker = ""
        if parts[0].startswith("@"):
            marker, parts = parts[0], parts[1:]
        if len(parts) < 3:
            continue
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except ValueError:
            continue
        out.append(KnownEntry(path, n, marker, parts[0], parts[1], blob))
    return out


def known_key_types(name: str, files: Iterable[str]) -> list[str]:
    """Key types already recorded for ``name`` (to prefer them in key exchange, as OpenSSH does)."""
    types: list[str] = []
    for path in files:
        for e in read_entries(path):
            if not e.marker and _host_matches(name, e.patterns) and e.key_type not in types:
                types.append(e.key_type)
    return types


def lookup(name: str, key_type: str, blob: bytes, files: Sequence[str]) -> Verdict:
    entries = [e for path in files for e in read_entries(path)]
    for e in entries:
        if e.marker == "@revoked" and e.key_blob == blob:
            return Verdict(KeyStatus.REVOKED, e)
    mismatch: KnownEntry | None = None
    for e in entries:
        if e.marker or not _host_matches(name, e.patterns):
            continue
        if e.key_type == key_type and e.key_blob == blob:
            return Verdict(KeyStatus.KNOWN, e)
        if mismatch is None or (mismatch.key_type != key_type and e.key_type == key_type):
            mismatch = e
    if mismatch is not None:
        return Verdict(KeyStatus.CHANGED, mismatch)
    return Verdict(KeyStatus.UNKNOWN)


def changed_message(info: HostKeyInfo, entry: KnownEntry) -> str:
    same = entry.key_type == info.key_type
    return (
        f"REMOTE HOST IDENTIFICATION HAS CHANGED for {info.host}: it offered {info.key_type} key "
        f"{info.fingerprint}, but {entry.file}:{entry.line} records "
        f"{'' if same else 'a different key type, '}{entry.key_type} key {entry.fingerprint}. "
        f"Someone could be eavesdropping, or the host key was replaced: check with the cluster's "
        f"admins, then remove line {entry.line} of {entry.file} (ssh-keygen -R '{info.host}' -f {entry.file})"
    )


def append_host_key(path: str, name: str, key_type: str, key_base64: str) -> None:
    """Append one ``name key_type key`` line; never rewrites the file."""
    ensure_private_dir(os.path.dirname(os.path.abspath(path)))
    line = f"{name} {key_type} {key_base64}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as e:
        raise HostKeyError(f"cannot add the host key to {path}: {e.strerror}") from e
    try:
        size = os.fstat(fd).st_size
        if size:
            with open(path, "rb") as fh:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    line = "\n" + line
        os.write(fd, line.encode())
    finally:
        os.close(fd)
