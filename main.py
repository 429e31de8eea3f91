"""Start OmniOpt Desktop from a source checkout: ``python main.py [ARGS]``."""

import sys

from omniopt_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
