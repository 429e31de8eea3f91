#!/bin/bash
#SBATCH --job-name=oo-t1-wrk
#SBATCH --comment=omniopt-desktop:t1
#SBATCH --output=/scratch/r/logs/worker-%A_%a.out
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --signal=B:USR1@120

set -u
PY=python3
cd /scratch/r
"$PY" -m omniopt_desktop.engine worker --run-dir /scratch/r --workers 1 --worker-index "${SLURM_ARRAY_TASK_ID:-0}" --worker-id "${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}_${SLURM_ARRAY_TASK_ID:-0}" &
child=$!
forward() { kill -USR1 "$child" 2>/dev/null; }
trap forward USR1 TERM INT
# `wait` returns early when a trapped signal arrives: wait again until the child is gone
status=0
while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
done
[ "$status" -eq 4 ] && status=0
exit "$status"
