"""The study model: what to optimise, how to run the program, where to run it.

Plain, mutable dataclasses (the editor edits them in place). No Qt, no TOML here: see
``toml_io`` for the file and ``validate`` for the rules. ``to_dict``/``from_dict`` give the
JSON form that is frozen into a run folder and shipped to the cluster.

Runs on Python 3.9+ with the stdlib only (the engine imports it on the cluster).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, List, Optional, Union

SCHEMA_VERSION = 1

Number = Union[int, float]
ChoiceValue = Union[str, int, float, bool]


class ParamType(str, Enum):
    FLOAT = "float"
    INT = "int"
    CHOICE = "choice"
    FIXED = "fixed"


class Direction(str, Enum):
    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


SAMPLERS = ("tpe", "random", "grid", "cmaes", "gp", "nsga2")
STORAGE_KINDS = ("sqlite", "journal")  # or a postgresql:// URL


@dataclass
class Parameter:
    name: str
    type: ParamType = ParamType.FLOAT
    low: Optional[Number] = None
    high: Optional[Number] = None
    log: bool = False
    step: Optional[Number] = None
    values: List[ChoiceValue] = field(default_factory=list)
    value: Optional[ChoiceValue] = None
    when: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"name": self.name, "type": self.type.value}
        if self.type in (ParamType.FLOAT, ParamType.INT):
            d["low"] = self.low
            d["high"] = self.high
            if self.log:
                d["log"] = True
            if self.step is not None:
                d["step"] = self.step
        elif self.type is ParamType.CHOICE:
            d["values"] = list(self.values)
        else:
            d["value"] = self.value
        if self.when:
            d["when"] = self.when
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Parameter:
        return cls(
            name=d["name"],
            type=ParamType(d.get("type", "float")),
            low=d.get("low"),
            high=d.get("high"),
            log=bool(d.get("log", False)),
            step=d.get("step"),
            values=list(d.get("values", [])),
            value=d.get("value"),
            when=d.get("when") or None,
        )


@dataclass
class Objective:
    name: str = "RESULT"
    direction: Direction = Direction.MINIMIZE

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "direction": self.direction.value}

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Objective:
        return cls(
            name=d.get("name", "RESULT"), direction=Direction(d.get("direction", "minimize"))
        )


@dataclass
class Program:
    command: str = ""
    workdir: str = "."
    timeout: Optional[str] = None  # as written: "30m", "90s", "1h30m", "01:00:00" or seconds

    def timeout_seconds(self) -> Optional[float]:
        from .durations import parse_duration

        return None if self.timeout in (None, "") else parse_duration(self.timeout)

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {"command": self.command, "workdir": self.workdir}
        if self.timeout not in (None, ""):
            d["timeout"] = self.timeout
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Program:
        t = d.get("timeout")
        return cls(
            command=d.get("command", ""),
            workdir=d.get("workdir", "."),
            timeout=None if t is None else str(t),
        )


@dataclass
class Resources:
    """SLURM resources, used when the study runs on a cluster."""

    workers: int = 1
    partition: Optional[str] = None
    time: Optional[str] = None
    cpus_per_task: int = 1
    mem: Optional[str] = None
    gpus: int = 0
    account: Optional[str] = None
    reservation: Optional[str] = None
    qos: Optional[str] = None
    constraint: Optional[str] = None
    exclude: Optional[str] = None
    extra_sbatch: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        d: Dict[str, Any] = {}
        for key in RESOURCE_KEYS:
            v = getattr(self, key)
            if v is None or (key == "extra_sbatch" and not v):
                continue
            d[key] = list(v) if key == "extra_sbatch" else v
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Resources:
        r = cls()
        for key in RESOURCE_KEYS:
            if key in d:
                v = d[key]
                setattr(r, key, list(v) if key == "extra_sbatch" else v)
        return r


RESOURCE_KEYS = (
    "workers",
    "partition",
    "time",
    "cpus_per_task",
    "mem",
    "gpus",
    "account",
    "reservation",
    "qos",
    "constraint",
    "exclude",
    "extra_sbatch",
)


# consecutive failed trials that stop a run whose study sets no max_failures (see failure_limit)
DEFAULT_FAILURE_LIMIT = 20


@dataclass
class Study:
    name: str = "study"
    n_trials: int = 100
    sampler: str = "tpe"
    seed: Optional[int] = None
    storage: str = "sqlite"  # "sqlite" | "journal" | "postgresql://user@host:port/db"
    max_failures: Optional[int] = None
    max_retries: int = 2  # retries of a trial whose worker died
    objectives: List[Objective] = field(default_factory=lambda: [Objective()])
    program: Program = field(default_factory=Program)
    parameters: List[Parameter] = field(default_factory=list)
    constraints: List[str] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)
    schema_version: int = SCHEMA_VERSION

    # -- convenience -------------------------------------------------------------------------
    @property
    def is_multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def directions(self) -> List[str]:
        return [o.direction.value for o in self.objectives]

    @property
    def failure_limit(self) -> int:
        """Consecutive failed trials after which a run stops: ``max_failures``, or by default
        ``max(20, n_trials // 10)`` — failed trials do not count toward ``n_trials``, so a program
        that cannot start (a typo in the command, a missing module) would otherwise fail for ever."""
        if self.max_failures:
            return int(self.max_failures)
        return max(DEFAULT_FAILURE_LIMIT, self.n_trials // 10)

    def failure_limit_text(self) -> str:
        """Where the limit comes from, for messages."""
        if self.max_failures:
            return f"study.max_failures = {self.failure_limit}"
        return f"default limit {self.failure_limit}; set study.max_failures to change it"

    def parameter(self, name: str) -> Optional[Parameter]:
        for p in self.parameters:
            if p.name == name:
                return p
        return None

    def copy(self) -> Study:
        return copy.deepcopy(self)

    # -- JSON form (frozen into run folders, shipped to the cluster) ------------------------------
    def to_dict(self) -> Dict[str, Any]:
        study: Dict[str, Any] = {
            "name": self.name,
            "n_trials": self.n_trials,
            "sampler": self.sampler,
            "storage": self.storage,
            "max_retries": self.max_retries,
        }
        if self.seed is not None:
            study["seed"] = self.seed
        if self.max_failures is not None:
            study["max_failures"] = self.max_failures
        return {
            "schema_version": self.schema_version,
            "study": study,
            "objective": [o.to_dict() for o in self.objectives],
            "program": self.program.to_dict(),
            "parameter": [p.to_dict() for p in self.parameters],
            "constraints": {"rules": list(self.constraints)},
            "resources": self.resources.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Study:
        s = d.get("study", {})
        return cls(
            name=s.get("name", "study"),
            n_trials=int(s.get("n_trials", 100)),
            sampler=s.get("sampler", "tpe"),
            seed=s.get("seed"),
            storage=s.get("storage", "sqlite"),
            max_failures=s.get("max_failures"),
            max_retries=int(s.get("max_retries", 2)),
            objectives=[Objective.from_dict(o) for o in d.get("objective", [{}])] or [Objective()],
            program=Program.from_dict(d.get("program", {})),
            parameters=[Parameter.from_dict(p) for p in d.get("parameter", [])],
            constraints=list(d.get("constraints", {}).get("rules", [])),
            resources=Resources.from_dict(d.get("resources", {})),
            schema_version=int(d.get("schema_version", SCHEMA_VERSION)),
        )
