#!/bin/bash
#SBATCH --job-name=oo-demo-1-ctl
#SBATCH --comment=omniopt-desktop:demo-1
#SBATCH --output=/home/me/omniopt-desktop/runs/demo-1/logs/controller-%j.out
#SBATCH --open-mode=append
#SBATCH --partition=alpha
#SBATCH --time=02:00:00
#SBATCH --account=p_opt
#SBATCH --reservation=maint
#SBATCH --qos=normal
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --signal=B:USR1@60

set -u
module load Python/3.9
export PYTHONPATH=/home/me/omniopt-desktop/engine/0.1.0-abc"${PYTHONPATH:+:$PYTHONPATH}"
PY=/home/me/omniopt-desktop/envs/py-abc/bin/python
cd /home/me/omniopt-desktop/runs/demo-1
"$PY" -m omniopt_desktop.engine.controller run --run-dir /home/me/omniopt-desktop/runs/demo-1 --storage journal:///home/me/omniopt-desktop/runs/demo-1/study.journal &
child=$!
trap 'kill -USR1 "$child" 2>/dev/null' USR1
trap 'kill -TERM "$child" 2>/dev/null' TERM
trap 'kill -INT "$child" 2>/dev/null' INT
# `wait` returns early when a trapped signal arrives: wait again until the child is gone
status=0
while :; do
    wait "$child"
    status=$?
    kill -0 "$child" 2>/dev/null || break
done
[ "$status" -eq 4 ] && status=0
exit "$status"
