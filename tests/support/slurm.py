"""A real single-node SLURM on this machine for tests: munged, slurmctld, slurmd.

``SlurmCluster.start()`` writes a private ``slurm.conf`` into a temporary folder (free ports,
state/spool/log folders there, ``accounting_storage/none``), starts munged (unless one runs
already) as the munge user, then slurmctld and slurmd in the foreground as children, and waits
for ``sinfo`` to show the node idle. ``stop()`` ends exactly the processes it started.

Clients find the cluster through ``SLURM_CONF`` (see :attr:`SlurmCluster.env` and
:attr:`SlurmCluster.shell_prefix`, a line to run before SLURM commands in another user's shell).
Needs root and Debian's ``slurm-wlm`` + ``munge``; the fixture skips when they are missing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_SOCKET_DIR = Path("/run/munge")
MUNGE_PIDFILE = MUNGE_SOCKET_DIR / "munged.pid"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node_resources() -> tuple[int, int]:
    cpus = os.cpu_count() or 1
    mem_mb = 1024
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_mb = int(line.split()[1]) // 1024
    return cpus, max(512, mem_mb - 512)


class SlurmCluster:
    def __init__(self, *, min_job_age: int = 300) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="oo-slurm-"))
        os.chmod(self.dir, 0o755)
        self.conf = self.dir / "slurm.conf"
        self.min_job_age = min_job_age
        self.cpus, self.mem_mb = _node_resources()
        self._procs: list[subprocess.Popen] = []
        self._munged_pid: int | None = None

    # -- what clients need ------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    @property
    def shell_prefix(self) -> str:
        return f"export SLURM_CONF={self.conf}"

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> SlurmCluster:
        try:
            self._start_munge()
            self._write_conf()
            log = open(self.dir / "daemons.out", "ab")
            self._procs.append(
                subprocess.Popen(
                    ["slurmctld", "-D", "-i", "-f", str(self.conf)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    start_new_session=True,
                )
            )
            self._wait(
                lambda: self._run(["scontrol", "ping"]).returncode == 0, timeout, "slurmctld"
            )
            self._procs.append(
                subprocess.Popen(
                    ["slurmd", "-D", "-N", "localhost", "-f", str(self.conf)],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    start_new_session=True,
                )
            )
            self._wait(self._node_idle, timeout, "slurmd (node idle)")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._procs and all(p.poll() is None for p in self._procs):
            self._cancel_all_jobs()
        for proc in reversed(self._procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
        self._procs.clear()
        self._kill_leftover_steps()
        if self._munged_pid is not None and _other_test_clusters_running():
            self._munged_pid = None  # another test session's SLURM still needs it; leave it
        if self._munged_pid is not None:
            try:
                os.kill(self._munged_pid, signal.SIGTERM)
                for _ in range(50):
                    os.kill(self._munged_pid, 0)
                    time.sleep(0.1)
            except ProcessLookupError:
                pass
            self._munged_pid = None
        if os.environ.get("OO_KEEP_SLURM_DIR") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill_leftover_steps(self) -> None:
        """slurmstepd processes outlive slurmd by design; end the ones of this cluster (they
        keep the cluster's slurmd.log open; their environment is empty)."""
        mine = str(self.dir)
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit():
                continue
            try:
                if not (pid_dir / "cmdline").read_bytes().startswith(b"slurmstepd"):
                    continue
                fds = [os.readlink(fd) for fd in (pid_dir / "fd").iterdir()]
            except OSError:
                continue
            if any(f.startswith(mine) for f in fds):
                try:
                    os.kill(int(pid_dir.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def _cancel_all_jobs(self, timeout: float = 20.0) -> None:
        """Cancel every job and wait for the queue to drain (job processes end with them)."""
        try:
            self._run(["scancel", "--partition=debug"])
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                out = self._run(["squeue", "-h", "-o", "%A"])
                if out.returncode == 0 and not out.stdout.strip():
                    return
                time.sleep(0.5)
        except (OSError, subprocess.SubprocessError):
            pass

    # -- helpers ------------------------------------------------------------------------------
    def _run(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30)

    def _node_idle(self) -> bool:
        out = self._run(["sinfo", "-h", "-N", "-o", "%T"]).stdout.split()
        return bool(out) and all(s.rstrip("*~#") in ("idle", "mixed", "allocated") for s in out)

    def _wait(self, ok, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"{what}: daemon exited; see {self.dir}/daemons.out\n{self.logs()}"
                    )
            if ok():
                return
            time.sleep(0.3)
        raise RuntimeError(f"{what} not ready within {timeout:g} s\n{self.logs()}")

    def logs(self) -> str:
        out = []
        for name in ("daemons.out", "slurmctld.log", "slurmd.log"):
            p = self.dir / name
            if p.exists():
                out.append(f"--- {name} ---\n" + p.read_text(errors="replace")[-3000:])
        return "\n".join(out)

    def _start_munge(self) -> None:
        probe = subprocess.run(["munge", "-n"], capture_output=True)
        if probe.returncode == 0:
            return  # a munged is running already; not ours to stop
        munge = pwd.getpwnam("munge")
        if not MUNGE_KEY.exists():
            MUNGE_KEY.parent.mkdir(parents=True, exist_ok=True)
            MUNGE_KEY.write_bytes(os.urandom(1024))
            os.chown(MUNGE_KEY, munge.pw_uid, munge.pw_gid)
            os.chmod(MUNGE_KEY, 0o400)
        for d in (MUNGE_SOCKET_DIR, Path("/var/log/munge"), Path("/var/lib/munge")):
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, munge.pw_uid, munge.pw_gid)
        subprocess.run(
            ["runuser", "-u", "munge", "--", "munged", "--force"], check=True, capture_output=True
        )
        deadline = time.monotonic() + 10
        while subprocess.run(["munge", "-n"], capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("munged did not start")
            time.sleep(0.1)
        self._munged_pid = int(MUNGE_PIDFILE.read_text().strip())

    def _write_conf(self) -> None:
        d = self.dir
        for sub in ("state", "spool"):
            (d / sub).mkdir(exist_ok=True)
        ctld_port, d_port = free_port(), free_port()
        while d_port == ctld_port:
            d_port = free_port()
        mem_per_cpu = max(100, self.mem_mb // (self.cpus * 4))
        self.conf.write_text(
            f"""\
ClusterName=ootest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ReturnToService=2
MinJobAge={self.min_job_age}
KillWait=5
InactiveLimit=0
MessageTimeout=20
DefMemPerCPU={mem_per_cpu}
PlugStackConfig={d}/plugstack.conf
NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.mem_mb} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
"""
        )
        (d / "plugstack.conf").write_text("")
        os.chmod(self.conf, 0o644)


def slurm_available() -> str | None:
    """Why a real SLURM cannot be started here (None when it can)."""
    if os.geteuid() != 0:
        return "needs root to start slurmd"
    for tool in ("slurmctld", "slurmd", "sbatch", "munged", "munge"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install slurm-wlm munge)"
    return None


_shared: SlurmCluster | None = None
_users = 0


@pytest.fixture(scope="session")
def slurm_cluster():
    """The session's single-node SLURM; stopped (nothing left running) at the end.

    Several conftest files may import this fixture; they all share one cluster per session.
    """
    global _shared, _users
    why = slurm_available()
    if why:
        pytest.skip(why)
    if _shared is None:
        _shared = SlurmCluster().start()
    _users += 1
    try:
        yield _shared
    finally:
        _users -= 1
        if _users == 0 and _shared is not None:
            _shared.stop()
            _shared = None


def _other_test_clusters_running() -> bool:
    """Is a slurmctld of another test cluster (``/tmp/oo-slurm-*``) alive on this machine?
    Concurrent test sessions share the one munged: the session that started it must not stop
    it under the others (their sbatch then fails "Protocol authentication error")."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"slurmctld") and any(b"/oo-slurm-" in c for c in cmd):
            return True
    return False
