"""Helpers shared by the tests and the benchmark: running pyinfra, sandbox homes, processes, the
end-to-end world."""
