"""Imported by the step server before it forks a step: Dagster's instance storage, warmed once.

Every forked step opens the run's Dagster instance, and the first to open one in a process
imports Dagster's storage modules. Opening an in-memory instance here, through the public API,
makes those imports once in the server, so each step starts without them (figures in
benchmarks/README.md, "A forked step's start").
"""

import dagster as dg

# The forkserver skips a preload that raises ImportError but dies on any other error, and then no
# step can start: a warm-up that fails must cost the head start only.
try:
    with dg.DagsterInstance.ephemeral():
        pass
except Exception:
    pass
