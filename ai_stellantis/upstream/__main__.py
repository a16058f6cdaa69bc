"""`python -m ai_stellantis.upstream`: see `ai_stellantis.upstream.cli`."""

from ai_stellantis.upstream.cli import main

raise SystemExit(main())
