"""``python -m rnnkit``: the ``rnnkit`` command, where the script is not on the PATH."""

import sys

from .cli import main

sys.exit(main())
