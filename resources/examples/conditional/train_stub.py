#!/usr/bin/env python3
"""Stands in for a training script with an optimiser choice whose settings depend on it.

Arguments arrive as '--name value'; an inactive conditional parameter arrives as ''.
Prints 'LOSS: <value>' (minimised) and OO-Info lines.
"""

import argparse
import math

p = argparse.ArgumentParser()
p.add_argument("--optimizer", required=True)
p.add_argument("--lr", type=float, required=True)
p.add_argument("--momentum", default="")
p.add_argument("--beta2", default="")
p.add_argument("--layers", type=int, required=True)
a = p.parse_args()

loss = (math.log10(a.lr) + 2.5) ** 2 + 0.05 * (a.layers - 4) ** 2
if a.optimizer == "sgd":
    loss += 0.4 * (float(a.momentum) - 0.9) ** 2 + 0.2
elif a.optimizer == "adam":
    loss += 50 * (float(a.beta2) - 0.999) ** 2
print(f"OO-Info: optimizer: {a.optimizer}")
print(f"LOSS: {loss!r}")
