"""``python -m emulator``: the same as the ``backup-emulator`` command."""

import sys

from emulator.cli import main

sys.exit(main())
