"""openClaude's pyinfra code, split by kind as pyinfra splits its own.

``deploys/``  the two deploys (``openclaude`` for deploy.py and rollback.py, ``verify``)
``ops/``      @operation functions: read a fact, compare, yield only what closes the gap
``facts/``    FactBase classes: what a target holds, read in one command each
``model/``    pure code: the data, where files go, how they are rendered and checked
``sh/``       the shell the facts and operations send to targets
"""

import sys

# pyinfra turns writing bytecode off for its whole run (meant for the deploy files it executes);
# this package is imported as any package is, so its bytecode is cached unless the user asked for
# none (PYTHONDONTWRITEBYTECODE, -B): a converged re-run then does not recompile it every time.
sys.dont_write_bytecode = sys.flags.dont_write_bytecode
