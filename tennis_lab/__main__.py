"""``python -m tennis_lab``: the same as the ``tennis-lab`` command."""

import sys

from tennis_lab.cli import main

sys.exit(main())
