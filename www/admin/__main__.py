"""`python -m www.admin create-admin EMAIL`: see www/admin/command.py."""

import sys

from .command import main

sys.exit(main())
