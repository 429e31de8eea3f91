"""Start OmniOpt Desktop from a source checkout or a bundle: ``python main.py [ARGS]``."""

import multiprocessing
import sys

from omniopt_desktop.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # a PyInstaller bundle re-enters here for worker processes
    sys.exit(main())
