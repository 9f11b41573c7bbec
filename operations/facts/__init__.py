"""Facts: what a target holds, each read in one command (one SSH round trip)."""
