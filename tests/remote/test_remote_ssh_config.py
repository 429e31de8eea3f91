"""~/.ssh/config resolution: Include, Match, first value wins, tokens, unsupported lines reported."""

from __future__ import annotations

import pytest

from omniopt_desktop.errors import RemoteError
from omniopt_desktop.remote.ssh_config import resolve_host, split_host_arg


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_alias_with_include_match_and_first_value_wins(fake_home, tmp_path):
    ssh = fake_home / ".ssh"
    write(
        ssh / "conf.d" / "hpc.conf", "Host taurus\n  HostName login1.hpc.example.org\n  Port 2222\n"
    )
    cfg = write(
        ssh / "config",
        "# comment\n"
        "Include conf.d/*.conf\n"
        "Host taurus\n  User alice\n  Port 22\n  IdentityFile ~/.ssh/id_hpc\n"
        "  ServerAliveInterval=15\n  ProxyJump gate1,bob@gate2:2200\n"
        "Match host login1.*.example.org user alice\n  IdentityFile %d/.ssh/id_%r_%h\n"
        "Host *\n  User nobody\n  IdentitiesOnly yes\n",
    )
    h = resolve_host("taurus", str(cfg))
    assert (h.hostname, h.port, h.user) == ("login1.hpc.example.org", 2222, "alice")
    assert h.identity_files == (
        str(fake_home / ".ssh/id_hpc"),
        str(fake_home / ".ssh/id_alice_login1.hpc.example.org"),
    )
    assert h.proxy_jump == ("gate1", "bob@gate2:2200")
    assert h.server_alive_interval == 15 and h.identities_only
    assert h.key_name == "[login1.hpc.example.org]:2222"
    assert h.warnings == ()


def test_match_exec_is_never_run_and_unsupported_lines_are_reported(fake_home, tmp_path):
    marker = tmp_path / "ran"
    cfg = write(
        fake_home / ".ssh" / "config",
        f'Match exec "touch {marker}"\n  User evil\n'
        "Host c\n  ProxyCommand ssh -W %h:%p gw\n  ForwardAgent yes\n  LocalForward 8080 x:80\n"
        "Host other\n  ProxyCommand never-reported\n",
    )
    h = resolve_host("c", str(cfg))
    assert not marker.exists()
    assert h.user != "evil"
    text = "\n".join(str(w) for w in h.warnings)
    assert f"{cfg}:1: 'Match exec' is never run" in text
    assert f"{cfg}:4: 'ProxyCommand ssh -W %h:%p gw' is not supported" in text
    assert "LocalForward" in text and "never-reported" not in text
    assert f"{cfg}:5: 'ForwardAgent yes' has no effect" in text


def test_command_line_user_and_port_win(fake_home):
    cfg = write(fake_home / ".ssh" / "config", "Host h\n  User cfguser\n  Port 2000\n")
    h = resolve_host("me@h:2022", str(cfg))
    assert (h.user, h.port, h.hostname) == ("me", 2022, "h")
    assert resolve_host("h", str(cfg)).port == 2000


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("host", (None, "host", None)),
        ("u@host", ("u", "host", None)),
        ("u@host:2222", ("u", "host", 2222)),
        ("[::1]:2200", (None, "::1", 2200)),
        ("u@fe80::1", ("u", "fe80::1", None)),
        ("ssh://u@h:23", ("u", "h", 23)),
    ],
)
def test_split_host_arg(text, want):
    assert split_host_arg(text) == want


@pytest.mark.parametrize("bad", ["", "@h", "h:0", "h:x", "[::1"])
def test_split_host_arg_errors(bad):
    with pytest.raises(RemoteError):
        split_host_arg(bad)


def test_negated_host_pattern_and_none_values(fake_home):
    cfg = write(
        fake_home / ".ssh" / "config",
        "Host *.example.org !bastion.example.org\n  ProxyJump bastion.example.org\n"
        "  IdentityFile none\n",
    )
    assert resolve_host("n1.example.org", str(cfg)).proxy_jump == ("bastion.example.org",)
    b = resolve_host("bastion.example.org", str(cfg))
    assert b.proxy_jump == ()
    assert resolve_host("n1.example.org", str(cfg)).identity_files == ()


def test_include_inside_a_host_block_applies_only_there(fake_home):
    ssh = fake_home / ".ssh"
    write(ssh / "only-a.conf", "User from-include\n")
    cfg = write(
        ssh / "config",
        "Host a\n  Include only-a.conf\n  Port 2200\n"
        "Match user bob\n  IdentityFile ~/.ssh/id_bob\n"
        "Host *\n  User default\n",
    )
    a = resolve_host("a", str(cfg))
    assert (a.user, a.port) == ("from-include", 2200)  # the Host block continues after Include
    b = resolve_host("b", str(cfg))
    assert (b.user, b.port) == ("default", 22)
    assert resolve_host("bob@b", str(cfg)).identity_files == (str(ssh / "id_bob"),)
    assert resolve_host("b", str(cfg)).identity_files == ()
