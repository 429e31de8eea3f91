"""Explain an SFTP start-up failure caused by a login shell that prints text.

OpenSSH starts a non-internal ``sftp-server`` through the user's login shell; any text that
``~/.bashrc`` (or ``~/.cshrc``, ``~/.profile``) prints then corrupts the SFTP protocol. This module
runs one harmless command to see whether the login shell prints something and turns the failure
into an error that names the file and the fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import RemoteError

if TYPE_CHECKING:
    from .session import Session


def noise_message(host: str, noise: bytes) -> str:
    sample = noise.decode("utf-8", "replace").strip().replace("\n", " | ")[:120]
    return (
        f"the login shell on {host} prints text before any command runs ({sample!r}); it comes "
        f"from ~/.bashrc (or ~/.cshrc, ~/.profile) and breaks SFTP. Make that file print only "
        f"in interactive shells, e.g. wrap the output in: if [[ $- == *i* ]]; then ...; fi"
    )


def diagnose_sftp_failure(session: Session, error: BaseException) -> RemoteError:
    from .ssh_runner import SSHRunner

    runner = SSHRunner(session)
    try:
        runner.run("true", timeout=15)
    except Exception:
        return RemoteError(
            f"SFTP could not start on {session.host}: {error or type(error).__name__}"
        )
    if runner.last_noise.strip():
        return RemoteError(noise_message(session.host, runner.last_noise))
    return RemoteError(
        f"SFTP could not start on {session.host} ({error or type(error).__name__}); ask the "
        f"admins whether the sftp subsystem is enabled"
    )
