"""What the step server imports before it forks a step: the location, built and resolved."""

from ai_stellantis.definitions import defs

defs().resolve_all_job_defs()
