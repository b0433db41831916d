"""``python -m matgenome``: the same as the ``matgenome`` command."""

import sys

from matgenome.cli import main

sys.exit(main())
