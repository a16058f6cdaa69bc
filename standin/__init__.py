"""Local stand-ins for the upstream services, for development, tests and benchmarks.

Production never imports this package and the wheel does not ship it: each code location reads
the real services, and points at these only through its settings (base URLs, endpoints).
"""
