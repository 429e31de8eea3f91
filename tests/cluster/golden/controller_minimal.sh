#!/bin/bash
#SBATCH --job-name=oo-t1-ctl
#SBATCH --comment=omniopt-desktop:t1
#SBATCH --output=/scratch/r/logs/controller-%j.out
#SBATCH --open-mode=append
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --signal=B:USR1@60

set -u
PY=python3
cd /scratch/r
"$PY" -m omniopt_desktop.engine.controller run --run-dir /scratch/r &
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
