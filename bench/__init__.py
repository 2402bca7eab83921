"""Benchmarks of dangjian (issue #6): a synthetic province generator and the harness.

``python -m bench.generate --help`` and ``python -m bench.run --help``; see docs/BENCHMARKS.md.
"""
