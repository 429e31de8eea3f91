"""``ssh-check``: connect to a host and report what a cluster run needs (shared by CLI and GUI).

Contract: :func:`ssh_check` connects with the given callbacks, runs ``uname -a``,
``python3 --version``, ``sbatch/squeue/sacct --version`` and one real ``squeue`` and ``sacct``
query (they need the controller and accounting) through the SSH runner and returns a
:class:`CheckResult` (``.lines()`` is the printable report). Connection, host-key and
authentication failures raise :class:`RemoteError` subclasses; a missing tool is reported, not
raised.
"""

from __future__ import annotations

from dataclasses import dataclass

from .callbacks import AuthCallbacks
from .session import Session, SessionInfo, SessionOptions

TOOLS = ("sbatch", "squeue", "sacct")
OPTIONAL = {"sacct"}  # job history; without accounting the app reads squeue and scontrol
QUERIES = {
    "squeue": 'squeue -h -u "$(id -un)" -o %i 2>&1 >/dev/null',
    "sacct": "sacct -n -X -o JobID 2>&1 >/dev/null",
}


@dataclass(frozen=True)
class ToolCheck:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class CheckResult:
    info: SessionInfo
    uname: str
    python: str
    tools: tuple[ToolCheck, ...]
    login_noise: str = ""

    @property
    def slurm_ok(self) -> bool:
        """The tools a cluster run needs work (sacct is optional)."""
        return all(t.ok for t in self.tools if t.name not in OPTIONAL)

    def lines(self) -> list[str]:
        i = self.info
        out = [f"connected to {i.host}"]
        out += [f"via jump host {j}" for j in i.jump_hosts]
        out += [
            f"host key: {i.key_type} {i.fingerprint}",
            f"authenticated by: {', '.join(i.auth_methods)}",
            f"uname -a: {self.uname or '(no output)'}",
            f"python3: {self.python}",
        ]
        for t in self.tools:
            if t.ok:
                out.append(f"{t.name}: works ({t.detail})")
            elif t.name in OPTIONAL:
                out.append(
                    f"{t.name}: not available ({t.detail}); optional: runs are followed with "
                    "squeue and scontrol instead"
                )
            else:
                out.append(f"{t.name}: NOT WORKING ({t.detail})")
        out += [f"warning: {w}" for w in i.warnings]
        if self.login_noise:
            out.append(f"warning: {self.login_noise}")
        return out


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0][:200] if lines else ""


def ssh_check(
    host: str,
    callbacks: AuthCallbacks | None = None,
    options: SessionOptions | None = None,
    timeout: float = 30.0,
    slurm_setup: str = "",
) -> CheckResult:
    """``slurm_setup`` (e.g. ``module load slurm``) runs before each SLURM command."""
    from .noisy_shell import noise_message

    with Session(host, callbacks, options) as session:
        runner = session.runner()
        uname = runner.run("uname -a", timeout=timeout)
        noise = noise_message(session.host, runner.last_noise) if runner.last_noise.strip() else ""
        py = runner.run("python3 --version 2>&1", timeout=timeout)
        python = _first_line(py.stdout) if py.ok else f"not usable ({py.describe()})"
        tools = []
        pre = f"{slurm_setup.strip()}\n" if slurm_setup.strip() else ""
        for tool in TOOLS:
            r = runner.run(f"{pre}{tool} --version 2>&1", timeout=timeout)
            detail = _first_line(r.stdout) or r.describe()
            if r.exit_status == 127:
                detail = "not found in PATH (module load slurm in ~/.bashrc?)"
            elif r.ok and tool in QUERIES:  # ask the controller / accounting, not just the binary
                q = runner.run(pre + QUERIES[tool], timeout=timeout)
                if not q.ok:
                    r, detail = q, f"{detail}, but: {_first_line(q.stdout) or q.describe()}"
            tools.append(ToolCheck(tool, r.ok, detail))
        assert session.info is not None
        return CheckResult(session.info, _first_line(uname.stdout), python, tuple(tools), noise)
