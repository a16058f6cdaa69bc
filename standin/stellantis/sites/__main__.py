"""`python -m standin.stellantis.sites`: see `standin.stellantis.sites.cli`."""

from standin.stellantis.sites.cli import main

raise SystemExit(main())
