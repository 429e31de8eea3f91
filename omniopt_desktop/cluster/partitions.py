"""The partitions of a cluster, for the resources form (``sinfo`` through a CommandRunner)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from ..errors import ClusterError
from .commands import CommandRunner

SINFO_FORMAT = "%P|%a|%l|%D|%c|%m|%G"


@dataclass(frozen=True)
class Partition:
    name: str
    default: bool
    available: bool
    time_limit: str  # as sinfo prints it: "infinite", "1-00:00:00", ...
    nodes: int
    cpus: str  # per node ("48", or "24+" when nodes differ)
    memory_mb: str  # per node, as sinfo prints it
    gres: str  # "(null)" or e.g. "gpu:a100:4"

    def __str__(self) -> str:
        return self.name


def parse_sinfo(text: str) -> list[Partition]:
    """Rows of ``sinfo -h -o '%P|%a|%l|%D|%c|%m|%G'``; one entry per partition."""
    seen: dict[str, Partition] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split("|")
        if len(parts) != 7:
            raise ClusterError(f"unexpected sinfo line: {line[:200]!r}")
        name = parts[0].strip()
        default = name.endswith("*")
        name = name.rstrip("*")
        if name in seen:
            continue
        nodes = int(parts[3]) if parts[3].strip().isdigit() else 0
        seen[name] = Partition(
            name, default, parts[1].strip() == "up", parts[2].strip(), nodes,
            parts[4].strip(), parts[5].strip(), parts[6].strip(),
        )  # fmt: skip
    return list(seen.values())


def list_partitions(runner: CommandRunner, prefix: str = "") -> list[Partition]:
    """The partitions the cluster offers (default first)."""
    cmd = f"sinfo -h -o {shlex.quote(SINFO_FORMAT)}"
    result = runner.run(f"{prefix}\n{cmd}" if prefix.strip() else cmd, timeout=60)
    if not result.ok:
        raise ClusterError(f"cannot list partitions: {result.describe()}")
    return sorted(parse_sinfo(result.stdout), key=lambda p: (not p.default, p.name))
