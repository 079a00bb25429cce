"""Entry point for `python -m roadbranch_shared.devstack`."""

import sys

from roadbranch_shared.devstack.cli import main

sys.exit(main())
