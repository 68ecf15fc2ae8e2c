"""The script every Glue job runs: the named workflow job, from the installed bi-transform wheel."""

import sys

from bi_transform.glue.entrypoint import main

sys.exit(main())
