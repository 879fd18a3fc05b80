"""The throughput/overhead benchmark: `python -m bench [--quick]` (docs/performance.md)."""
