"""`python -m www.client ...`: see www/client/cli.py."""

import sys

from .cli import main

sys.exit(main())
