"""known_hosts parsing and appending (unit level; the sshd tests cover the session side)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat

from omniopt_desktop.remote.known_hosts import (
    KeyStatus,
    append_host_key,
    fingerprint,
    known_key_types,
    lookup,
)

BLOB = b"\x00\x00\x00\x0bssh-ed25519" + bytes(range(36))
OTHER = b"\x00\x00\x00\x0bssh-ed25519" + bytes(range(100, 136))
B64 = base64.b64encode(BLOB).decode()
OTHER64 = base64.b64encode(OTHER).decode()


def hashed(name: str) -> str:
    salt = os.urandom(20)
    mac = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(mac).decode()}"


def test_hashed_and_bracketed_port_entries_match(tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(f"# c\n{hashed('[login.example.org]:2222')} ssh-ed25519 {B64}\n")
    v = lookup("[login.example.org]:2222", "ssh-ed25519", BLOB, [str(kh)])
    assert v.status is KeyStatus.KNOWN and v.entry.line == 2
    # the same host on port 22 is a different name
    assert lookup("login.example.org", "ssh-ed25519", BLOB, [str(kh)]).status is KeyStatus.UNKNOWN
    assert known_key_types("[login.example.org]:2222", [str(kh)]) == ["ssh-ed25519"]


def test_changed_key_names_file_line_and_both_fingerprints(tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(f"a.example,b.example ssh-ed25519 {OTHER64} old\n")
    v = lookup("b.example", "ssh-ed25519", BLOB, [str(kh)])
    assert v.status is KeyStatus.CHANGED
    assert (v.entry.file, v.entry.line, v.entry.fingerprint) == (str(kh), 1, fingerprint(OTHER))


def test_revoked_wins_over_known(tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(f"h ssh-ed25519 {B64}\n@revoked * ssh-ed25519 {B64}\n")
    v = lookup("h", "ssh-ed25519", BLOB, [str(kh)])
    assert v.status is KeyStatus.REVOKED and v.entry.line == 2


def test_wildcards_and_negation(tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(f"*.example.org,!evil.example.org ssh-ed25519 {B64}\n")
    assert lookup("n1.example.org", "ssh-ed25519", BLOB, [str(kh)]).status is KeyStatus.KNOWN
    assert lookup("evil.example.org", "ssh-ed25519", BLOB, [str(kh)]).status is KeyStatus.UNKNOWN


def test_append_adds_one_line_and_keeps_everything_else(tmp_path):
    kh = tmp_path / "known_hosts"
    original = (
        "# my hosts\n"
        f"{hashed('x.example')} ssh-ed25519 {OTHER64}\n"
        f"@cert-authority *.example.org ssh-ed25519 {OTHER64}\n"
        "weird.example ssh-unknown-type AAAAB3Nz\n"
        f"no-newline.example ssh-ed25519 {OTHER64}"
    )
    kh.write_text(original)
    os.chmod(kh, 0o644)
    append_host_key(str(kh), "[h]:2200", "ssh-ed25519", B64)
    text = kh.read_text()
    assert text == original + f"\n[h]:2200 ssh-ed25519 {B64}\n"
    assert stat.S_IMODE(os.stat(kh).st_mode) == 0o644  # an existing file keeps its mode


def test_append_creates_private_file_and_folder_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "new" / "dir" / "known_hosts"
        append_host_key(str(path), "h", "ssh-ed25519", B64)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path.parent.parent).st_mode) == 0o700
