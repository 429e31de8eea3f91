#!/usr/bin/env python3
"""Two competing objectives (a model's error against its cost), for a Pareto front.

Prints 'ERROR: <value>' and 'COST: <value>'; both are minimised.
"""

import math
import sys

width, depth, dropout = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
capacity = width * depth
error = 1.0 / (1.0 + 0.05 * capacity) + 0.3 * (dropout - 0.2) ** 2 + 0.02 * math.sin(width)
cost = 0.01 * capacity * (1.0 - 0.5 * dropout)
print(f"ERROR: {error!r}")
print(f"COST: {cost!r}")
