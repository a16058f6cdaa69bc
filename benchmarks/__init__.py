"""Benchmarks: run a scenario's stages against the local upstream server, grade what they cost."""
