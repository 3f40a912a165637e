"""``python -m tennis_lab.search``: the same as ``tennis-lab grid``."""

import sys

from tennis_lab.search.cli import main

sys.exit(main())
