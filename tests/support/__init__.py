"""Helpers shared by the tests and the benchmark: running pyinfra, sandbox homes, processes."""
