"""``omniopt-desktop ssh-check`` end to end against a real sshd, with ~ pointing to a temp folder."""

from __future__ import annotations

import pytest

from omniopt_desktop.cli import main

pytestmark = pytest.mark.sshd


@pytest.fixture
def home_config(sshd_env, fake_home):
    ssh = fake_home / ".ssh"
    ssh.mkdir(mode=0o700)
    (ssh / "conf.d").mkdir()
    sshd_env.ssh_config(ssh / "conf.d" / "cluster.conf", alias="cluster")
    (ssh / "config").write_text("Include conf.d/*.conf\n")
    return ssh


def test_ssh_check_with_accept_host_key(sshd_env, home_config, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False, raising=False)
    fp = sshd_env.server.host_fingerprint()
    code = main(["ssh-check", "cluster", "--accept-host-key", fp])
    out, err = capsys.readouterr()
    assert f"host key: ssh-ed25519 {fp}" in out
    assert f"authenticated by: publickey ({sshd_env.account.key_path})" in out
    assert "uname -a: Linux" in out and "python3: Python 3." in out
    for tool in ("sbatch", "squeue", "sacct"):
        assert f"\n{tool}: " in out
    assert code in (0, 1)
    assert (home_config / "known_hosts").read_text() == sshd_env.server.known_hosts_line() + "\n"
    # now known: no flag needed
    assert main(["ssh-check", "cluster"]) == code


def test_ssh_check_unknown_key_in_a_script_fails_with_one_line(sshd_env, home_config, capsys):
    code = main(["ssh-check", "cluster"])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.count("\n") == 1 and "not known and was not accepted" in err
    assert sshd_env.server.host_fingerprint() in err
    assert not (home_config / "known_hosts").exists()


def test_ssh_check_rejects_a_malformed_fingerprint(capsys):
    assert main(["ssh-check", "x", "--accept-host-key", "md5:aa"]) == 1
    assert "not a SHA256 fingerprint" in capsys.readouterr().err


@pytest.mark.slurm
@pytest.mark.slow
def test_ssh_check_against_the_real_slurm(sshd_env, home_config, capsys, slurm_cluster):
    sshd_env.known_hosts_file(home_config / "known_hosts", sshd_env.server)
    code = main(["ssh-check", "cluster", "--slurm-setup", slurm_cluster.shell_prefix])
    out, err = capsys.readouterr()
    assert "\nsbatch: works (slurm" in out and "\nsqueue: works (slurm" in out
    # this test cluster has no accounting storage: sacct is reported, with the reason, and is
    # optional (runs are followed with squeue and scontrol): the check passes
    assert "\nsacct: not available (" in out and "accounting" in out.lower()
    assert "optional: runs are followed with squeue and scontrol" in out
    assert code == 0
