"""openClaude's pyinfra code, split by kind as pyinfra splits its own.

``deploys/``  the two deploys (``openclaude`` for deploy.py and rollback.py, ``verify``)
``ops/``      @operation functions: read a fact, compare, yield only what closes the gap
``facts/``    FactBase classes: what a target holds, read in one command each
``model/``    pure code: the data, where files go, how they are rendered and checked
``sh/``       the shell the facts and operations send to targets
"""
