"""openClaude's own pyinfra facts and operations, and the pure functions they render with."""
