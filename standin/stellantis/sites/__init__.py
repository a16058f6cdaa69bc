"""A local stand-in for the six Stellantis brand sites: deterministic inventory, faults on demand.

`serve_upstream` (in `process`) runs it in a subprocess for tests and benchmarks; `ground_truth`
(in `truth`) says exactly what a fault-free crawl of it returns.
"""
