"""Strict host-key checking against a real sshd: unknown, accepted, changed, revoked, hashed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from dataclasses import replace

import pytest
from support.remote_callbacks import Scripted
from support.sshd import keygen

from omniopt_desktop.errors import HostKeyError
from omniopt_desktop.remote.callbacks import NoPrompts
from omniopt_desktop.remote.session import Session
from omniopt_desktop.remote.state import ConnectionState

pytestmark = pytest.mark.sshd


def _hashed(name: str) -> str:
    salt = os.urandom(20)
    mac = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(mac).decode()}"


def _accepted_logins(server) -> int:
    return server.log_text().count("Accepted publickey")


def test_unknown_key_without_confirmation_writes_nothing_and_does_not_log_in(sshd_env, tmp_path):
    kh = tmp_path / "ssh" / "known_hosts"
    app = tmp_path / "app" / "known_hosts"
    opts = sshd_env.session_options(known_hosts=(kh,))
    opts = replace(opts, app_known_hosts=str(app))
    asks = Scripted(accept=False)
    before = _accepted_logins(sshd_env.server)
    s = Session("oo-target", asks, opts)
    with pytest.raises(HostKeyError) as e:
        s.connect()
    info = asks.asked[0][1]
    assert (info.host, info.key_type) == (sshd_env.server.key_name, "ssh-ed25519")
    assert info.fingerprint == sshd_env.server.host_fingerprint()
    assert info.fingerprint in str(e.value) and "--accept-host-key" in str(e.value)
    assert not kh.exists() and not app.exists() and not kh.parent.exists()
    assert s.state is ConnectionState.FAILED
    assert _accepted_logins(sshd_env.server) == before


def test_accepted_key_is_one_appended_line_in_a_file_with_comments_and_hashes(sshd_env, tmp_path):
    kh = tmp_path / "known_hosts"
    keygen(tmp_path / "other")
    other_pub = (tmp_path / "other.pub").read_text().split()
    original = (
        "# cluster keys, maintained by hand\n"
        f"{_hashed('login.example.org')} {other_pub[0]} {other_pub[1]}\n"
        "\n"
        f"@cert-authority *.example.org {other_pub[0]} {other_pub[1]} ca\n"
        "legacy.example.org ssh-dss AAAAB3NzaC1kc3MAAACBAP\n"
        f"[127.0.0.1]:1 {other_pub[0]} {other_pub[1]}"  # no newline at the end
    )
    kh.write_text(original)
    os.chmod(kh, 0o600)
    asks = Scripted(accept=True)
    with Session("oo-target", asks, sshd_env.session_options(known_hosts=(kh,))) as s:
        assert s.runner().run("true").ok
    text = kh.read_text()
    assert text.startswith(original)
    added = text[len(original) :]
    assert added == "\n" + sshd_env.server.known_hosts_line() + "\n"
    assert stat.S_IMODE(os.stat(kh).st_mode) == 0o600
    # the next connection knows the key and asks nothing
    asks2 = Scripted(accept=False)
    with Session("oo-target", asks2, sshd_env.session_options(known_hosts=(kh,))):
        pass
    assert asks2.asked == []


def test_hashed_entry_for_the_server_is_honoured(sshd_env, tmp_path):
    kh = tmp_path / "known_hosts"
    srv = sshd_env.server
    kh.write_text(f"{_hashed(srv.key_name)} {srv.host_key_type} {srv.host_key_base64}\n")
    with Session("oo-target", NoPrompts(), sshd_env.session_options(known_hosts=(kh,))) as s:
        assert s.state is ConnectionState.CONNECTED


def test_accept_fingerprint_given_in_advance(sshd_env, tmp_path):
    kh = tmp_path / "kh"
    fp = sshd_env.server.host_fingerprint()
    with Session("oo-target", NoPrompts((fp,)), sshd_env.session_options(known_hosts=(kh,))):
        pass
    assert kh.read_text() == sshd_env.server.known_hosts_line() + "\n"
    # a wrong fingerprint is refused
    with pytest.raises(HostKeyError):
        Session(
            "oo-target",
            NoPrompts(("SHA256:" + "A" * 43,)),
            sshd_env.session_options(known_hosts=(tmp_path / "kh2",)),
        ).connect()


def test_changed_key_is_refused_naming_both_fingerprints_and_the_line(sshd_env, tmp_path):
    kh = tmp_path / "known_hosts"
    keygen(tmp_path / "impostor")
    imp = (tmp_path / "impostor.pub").read_text().split()
    kh.write_text(f"# header\n{sshd_env.server.key_name} {imp[0]} {imp[1]}\n")
    before = kh.read_text()
    asks = Scripted(accept=True)
    with pytest.raises(HostKeyError) as e:
        Session("oo-target", asks, sshd_env.session_options(known_hosts=(kh,))).connect()
    msg = str(e.value)
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in msg
    assert sshd_env.server.host_fingerprint() in msg
    import subprocess

    old_fp = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "impostor.pub")],
        capture_output=True,
        text=True,
    ).stdout.split()[1]
    assert old_fp in msg and f"{kh}:2" in msg
    assert asks.asked == []  # never offered for confirmation
    assert kh.read_text() == before


def test_revoked_key_is_refused(sshd_env, tmp_path):
    kh = tmp_path / "known_hosts"
    srv = sshd_env.server
    kh.write_text(
        f"{srv.known_hosts_line()}\n@revoked * {srv.host_key_type} {srv.host_key_base64}\n"
    )
    with pytest.raises(HostKeyError) as e:
        Session(
            "oo-target", Scripted(accept=True), sshd_env.session_options(known_hosts=(kh,))
        ).connect()
    assert "@revoked" in str(e.value) and f"{kh}:2" in str(e.value)


def test_app_known_hosts_file_is_read_and_written_private_whatever_the_umask(sshd_env, tmp_path):
    app = tmp_path / "data" / "omniopt-desktop" / "known_hosts"
    opts = sshd_env.session_options(known_hosts=(tmp_path / "none",))
    opts = replace(opts, app_known_hosts=str(app), save_accepted_to="app")
    old = os.umask(0)
    try:
        with Session("oo-target", Scripted(accept=True), opts):
            pass
    finally:
        os.umask(old)
    assert app.read_text() == sshd_env.server.known_hosts_line() + "\n"
    assert stat.S_IMODE(os.stat(app).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(app.parent).st_mode) == 0o700
    assert not (tmp_path / "none").exists()
    with Session("oo-target", NoPrompts(), opts):  # read back from the app's file
        pass


@pytest.mark.parametrize("kind", ["rsa", "ecdsa"])
def test_other_host_key_types_known_under_their_type(sshd_env, sshd_factory, tmp_path, kind):
    srv = sshd_factory(host_key_kind=kind)
    kh = sshd_env.known_hosts_file(tmp_path / "kh", srv)
    cfg = sshd_env.ssh_config(tmp_path / "config", server=srv)
    with Session("oo-target", NoPrompts(), sshd_env.session_options(cfg, known_hosts=(kh,))) as s:
        assert s.info.key_type == srv.host_key_type
        assert s.info.fingerprint == srv.host_fingerprint()


def test_known_rsa_key_is_preferred_over_an_unrecorded_ed25519_key(
    sshd_env, sshd_factory, tmp_path
):
    extra = keygen(tmp_path / "ssh_host_ed25519_key")
    srv = sshd_factory(host_key_kind="rsa", extra=(f"HostKey {extra}",))
    kh = sshd_env.known_hosts_file(tmp_path / "kh", srv)  # records only the RSA key
    cfg = sshd_env.ssh_config(tmp_path / "config", server=srv)
    with Session("oo-target", NoPrompts(), sshd_env.session_options(cfg, known_hosts=(kh,))) as s:
        assert s.info.key_type == "ssh-rsa"
