"""`python -m roster`: the roster's command line."""

import sys

from roster.entrypoints.cli import main

sys.exit(main())
