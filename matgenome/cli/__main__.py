"""``python -m matgenome.cli``: the same as the ``matgenome`` command."""

import sys

from matgenome.cli.main import main

sys.exit(main())
