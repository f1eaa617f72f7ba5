"""``python -m fastnn``: the command line (fastnn/cli)."""

import sys

from fastnn.cli import main

if __name__ == "__main__":
    sys.exit(main())
