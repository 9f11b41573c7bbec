"""Pure code: the deploy data, where files go, how they are rendered and checked. No I/O on targets."""
