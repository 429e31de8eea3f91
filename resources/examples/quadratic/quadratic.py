#!/usr/bin/env python3
"""A black-box program: a shifted quadratic bowl with a categorical twist.

Prints 'RESULT: <value>' (lower is better) and an OO-Info line. Any program that prints such
lines works the same way, in any language.
"""

import argparse
import math

parser = argparse.ArgumentParser()
parser.add_argument("--x", type=float, required=True)
parser.add_argument("--y", type=float, required=True)
parser.add_argument("--n", type=int, required=True)
parser.add_argument("--shape", choices=["bowl", "ridge", "wave"], required=True)
a = parser.parse_args()

value = (a.x - 1.5) ** 2 + (a.y + 0.5) ** 2 + 0.1 * (a.n - 3) ** 2
if a.shape == "ridge":
    value += 0.5 * abs(a.x - a.y)
elif a.shape == "wave":
    value += 0.3 * (1 + math.sin(3 * a.x))
print(f"evaluating x={a.x} y={a.y} n={a.n} shape={a.shape}")
print(f"OO-Info: distance: {math.hypot(a.x - 1.5, a.y + 0.5):.6f}")
print(f"RESULT: {value!r}")
