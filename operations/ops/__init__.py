"""Operations: each reads a fact, compares with the wanted state and yields only what differs."""
