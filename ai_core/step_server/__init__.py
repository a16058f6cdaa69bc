"""What the step server imports before it forks a step (`ai_core.location.step_server_preloads`).

A package of its own, so that importing `ai_core`'s modules (as `dg` does to find component
types) never imports the server's warm-up.
"""
