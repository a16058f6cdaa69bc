"""What the step server imports before it forks a step (`ai_core.location.step_server_preloads`).

A package of its own, so that `dg`, which imports every `ai_core.*` module to list components,
never imports the server's warm-up.
"""
