"""debug: what the kernel shows about itself.

Owns panics and backtraces (panic), the TSC-stamped trace buffer (trace), the per-stage
cycle counters (stages) and the in-kernel
KTAP test runner (ktest).  May use: common, base, mm, lib.
"""
