#!/bin/bash
#SBATCH --job-name=oo-demo-1-wrk
#SBATCH --comment=omniopt-desktop:demo-1
#SBATCH --output=/home/me/omniopt-desktop/runs/demo-1/logs/worker-%A_%a.out
#SBATCH --ntasks=1
#SBATCH --partition=alpha
#SBATCH --time=02:00:00
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --gres=gpu:2
#SBATCH --account=p_opt
#SBATCH --reservation=maint
#SBATCH --qos=normal
#SBATCH --constraint=a100&ib
#SBATCH --exclude=node[01-03]
#SBATCH --mail-type=END
#SBATCH --mail-user=me@example.org
#SBATCH --signal=B:USR1@120

set -u
module load Python/3.9
export PYTHONPATH=/home/me/omniopt-desktop/engine/0.1.0-abc"${PYTHONPATH:+:$PYTHONPATH}"
PY=/home/me/omniopt-desktop/envs/py-abc/bin/python
cd /home/me/omniopt-desktop/runs/demo-1
"$PY" -m omniopt_desktop.engine worker --run-dir /home/me/omniopt-desktop/runs/demo-1 --storage journal:///home/me/omniopt-desktop/runs/demo-1/study.journal --workers 8 --worker-index "${SLURM_ARRAY_TASK_ID:-0}" --worker-id "${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}_${SLURM_ARRAY_TASK_ID:-0}" &
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
