"""``python -m tennis_lab.grids``: list every predefined grid with its number of combinations."""

import sys

from tennis_lab.grids import main

sys.exit(main())
