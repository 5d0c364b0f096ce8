"""`python -m streams` is the `repayment-stream` console script."""

import sys

from streams.cli import main

sys.exit(main())
