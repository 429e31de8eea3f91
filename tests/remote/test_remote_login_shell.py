"""A noisy login shell (~/.bashrc that prints) and a csh-like user: commands still work, SFTP
failures name the cause."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess

import pytest
from support.sshd import ensure_account

from omniopt_desktop.errors import RemoteError
from omniopt_desktop.remote.callbacks import NoPrompts
from omniopt_desktop.remote.check import ssh_check
from omniopt_desktop.remote.session import Session

pytestmark = pytest.mark.sshd
NOISY = "oodnoisy"


@pytest.fixture
def noisy_account():
    pw = ensure_account(NOISY)
    bashrc = os.path.join(pw.pw_dir, ".bashrc")
    with open(bashrc, "w") as fh:
        fh.write('echo "Welcome to the noisy cluster"\necho "motd on stderr" >&2\n')
    os.chown(bashrc, pw.pw_uid, pw.pw_gid)
    yield pw
    with open(bashrc, "w") as fh:
        fh.write("# quiet\n")


def _opts(sshd_env, srv, tmp_path):
    cfg = sshd_env.ssh_config(tmp_path / "config", server=srv, user=NOISY)
    kh = sshd_env.known_hosts_file(tmp_path / "kh", srv)
    return sshd_env.session_options(cfg, known_hosts=(kh,))


def test_noisy_bashrc_commands_are_clean_and_sftp_error_names_bashrc(
    sshd_env, sshd_factory, noisy_account, tmp_path
):
    srv = sshd_factory(users=(NOISY,), sftp="/usr/lib/openssh/sftp-server")
    with Session("oo-target", NoPrompts(), _opts(sshd_env, srv, tmp_path)) as s:
        runner = s.runner()
        r = runner.run("echo payload; echo err >&2")
        assert (r.stdout, r.stderr) == ("payload\n", "err\n")
        assert b"Welcome to the noisy cluster" in runner.last_noise
        with pytest.raises(RemoteError) as e:
            s.sftp()
    msg = str(e.value)
    assert "~/.bashrc" in msg and "Welcome to the noisy cluster" in msg and "interactive" in msg
    assert "\n" not in msg
    report = ssh_check("oo-target", NoPrompts(), _opts(sshd_env, srv, tmp_path))
    assert any("~/.bashrc" in line for line in report.lines())


def test_internal_sftp_is_not_affected_by_a_noisy_bashrc(
    sshd_env, sshd_factory, noisy_account, tmp_path
):
    srv = sshd_factory(users=(NOISY,))
    with Session("oo-target", NoPrompts(), _opts(sshd_env, srv, tmp_path)) as s:
        assert ".bashrc" in s.sftp().listdir(".")


def test_login_shell_is_bypassed_for_posix_commands(sshd_env, tmp_path):
    """The command runs in /bin/sh, whatever the login shell; multi-line commands survive."""
    assert pwd.getpwnam(sshd_env.account.name).pw_shell == "/bin/bash"
    with Session("oo-target", NoPrompts(), sshd_env.session_options()) as s:
        r = s.runner().run(
            "if [ -n \"$BASH_VERSION\" ]; then echo bash; else echo posix; fi\necho 'two\nlines'"
        )
        assert r.stdout == "posix\ntwo\nlines\n"


CSH_USER = "oodcsh"


@pytest.mark.skipif(not shutil.which("tcsh"), reason="tcsh is not installed (apt-get install tcsh)")
def test_csh_login_shell_runs_posix_commands(sshd_env, sshd_factory, tmp_path):
    ensure_account(CSH_USER)
    subprocess.run(["usermod", "-s", shutil.which("tcsh"), CSH_USER], check=True)
    srv = sshd_factory(users=(CSH_USER,))
    cfg = sshd_env.ssh_config(tmp_path / "config", server=srv, user=CSH_USER)
    opts = sshd_env.session_options(
        cfg, known_hosts=(sshd_env.known_hosts_file(tmp_path / "kh", srv),)
    )
    with Session("oo-target", NoPrompts(), opts) as s:
        r = s.runner()
        assert r.run("echo $0").stdout.strip() == "/bin/sh"
        cmd = "x='it'\"'\"'s $HOME !'; printf '%s\\n' \"$x\"\nfor i in 1 2; do echo $i; done >&2\nexit 4"
        res = r.run(cmd)
        assert (res.stdout, res.stderr, res.exit_status) == ("it's $HOME !\n", "1\n2\n", 4)
        assert r.run("printf 'a!b'").stdout == "a!b"


def test_missing_sftp_subsystem_is_explained(sshd_env, sshd_factory, tmp_path):
    srv = sshd_factory(sftp="/bin/false")
    cfg = sshd_env.ssh_config(tmp_path / "config", server=srv)
    opts = sshd_env.session_options(
        cfg, known_hosts=(sshd_env.known_hosts_file(tmp_path / "kh", srv),)
    )
    with Session("oo-target", NoPrompts(), opts) as s:
        with pytest.raises(RemoteError) as e:
            s.sftp()
        assert "sftp subsystem is enabled" in str(e.value) and ".bashrc" not in str(e.value)
        assert s.runner().run("echo still").stdout == "still\n"
