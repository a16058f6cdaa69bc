"""Imported only by the step server, last, before it forks a step: Dagster's instance storage
warmed once, and everything the server has made frozen.

Every forked step opens the run's Dagster instance, and the first to open one in a process
imports Dagster's storage modules. Opening an in-memory instance here, through the public API,
makes those imports once in the server, so each step starts without them. The steps share the
server's objects; frozen, they are left out of every collection a step makes, which would
otherwise walk them all and copy the pages they sit on (figures in benchmarks/README.md, "A
forked step's start").
"""

import gc

import dagster as dg

# The forkserver skips a preload that raises ImportError but dies on any other error, and then no
# step can start: a warm-up that fails must cost the head start only.
try:
    with dg.DagsterInstance.ephemeral():
        pass
except Exception:
    WARMED = False
else:
    WARMED = True  # lets a forked step tell that its server warmed the storage (tests do)


# Collected first so the server's garbage is not frozen with it; frozen so a step's
# collections skip the rest.
gc.collect()
gc.freeze()
