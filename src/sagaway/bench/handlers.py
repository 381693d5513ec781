"""The benchmark's no-op handlers as an importable module, for ``sagaway worker --functions
sagaway.bench.handlers`` (the multi-worker benchmark runs real worker subprocesses)."""

from sagaway.bench.workloads import functions

FUNCTIONS = functions()
