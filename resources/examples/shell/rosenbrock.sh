#!/bin/sh
# A black-box program as a shell script: the Rosenbrock function of two parameters.
# Called as: rosenbrock.sh A B   (any language works; print 'RESULT: <value>')
a="$1"
b="$2"
awk -v a="$a" -v b="$b" 'BEGIN { r = (1 - a) ^ 2 + 100 * (b - a * a) ^ 2; printf "RESULT: %.17g\n", r }'
