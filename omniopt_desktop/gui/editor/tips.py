"""Tooltips for every editor field, keyed by the field's last path element."""

from __future__ import annotations

TIPS: dict[str, str] = {
    # [study]
    "study.name": "Name of the study; also names the run folder.",
    "study.n_trials": "How many trials (program runs) to evaluate in total.",
    "study.sampler": "How new points are proposed: tpe (default), random, grid, cmaes, gp, "
    "nsga2 (several objectives).",
    "study.seed": "Random seed for the sampler; leave empty for a different run each time.",
    "study.storage": "Where trials are stored: sqlite (one machine), journal (shared "
    "filesystem, many nodes) or a postgresql://user@host:port/db URL (no password in it).",
    "study.max_failures": "Stop the run after this many consecutive failed trials; empty = max(20, trials ÷ 10).",
    "study.max_retries": "How often a trial whose worker died is tried again.",
    # [[objective]]
    "objective.name": "The program prints 'NAME: value' on its output; this is NAME.",
    "objective.direction": "minimize or maximize this objective.",
    # [[parameter]]
    "parameter.name": "Name used in the command template as %(name) or ($name).",
    "parameter.type": "float or int (a range), choice (a list of values) or fixed (one value).",
    "parameter.low": "Smallest value of the range.",
    "parameter.high": "Largest value of the range.",
    "parameter.step": "Only multiples of step above low (empty = continuous).",
    "parameter.log": "Sample on a log scale (low must be above 0).",
    "parameter.values": "Choice: comma-separated values ('Edit values…', Ctrl+E, for a "
    "list). Fixed: the one value.",
    "parameter.value": "The fixed value passed to the program.",
    "parameter.when": "Only active when this condition holds, e.g. opt == 'sgd' (parameters "
    "defined above only). Empty = always.",
    # [program]
    "program.command": "Command run for every trial; %(name) is replaced by the parameter's "
    "value, shell-quoted.",
    "program.workdir": "Folder the command runs in (relative to the study file).",
    "program.timeout": "Kill a trial after this long: 90s, 30m, 1h30m, 01:00:00; empty = never.",
    # [constraints]
    "constraints.rules": "Conditions every trial must meet, e.g. x + y <= 10.",
    # [resources]
    "resources.workers": "How many trials run at the same time (SLURM array size).",
    "resources.partition": "SLURM partition; 'Load' fills the list from the cluster.",
    "resources.time": "Wall-clock limit of one worker job: 2h, 1-00:00:00, 90m.",
    "resources.cpus_per_task": "CPUs for each worker.",
    "resources.mem": "Memory per worker, e.g. 4G, 500M.",
    "resources.gpus": "GPUs per worker.",
    "resources.account": "SLURM account (project) to charge.",
    "resources.reservation": "SLURM reservation to run in.",
    "resources.qos": "SLURM quality of service.",
    "resources.constraint": "SLURM node features, e.g. 'skylake'.",
    "resources.exclude": "Nodes never to use, e.g. 'node[01-03]'.",
    "resources.extra_sbatch": "Extra #SBATCH options, one per line, e.g. --mail-type=END.",
}


def tip(path: tuple) -> str:
    """The tooltip for a field path like ("parameter", 2, "low") or ("study", "seed")."""
    names = [str(p) for p in path if not isinstance(p, int)]
    key = ".".join(names[:2])
    return TIPS.get(key, "")
