"""``python -m annotate_app.cli``: the same entry point as the ``annotate`` script."""

import sys

from annotate_app.cli import main

sys.exit(main())
