"""This machine only, as the user running pyinfra: the same as ``pyinfra @local``.

    pyinfra inventory/local.py deploy.py

The host is in the ``developers`` group, so ``group_data/developers.py`` (if a team adds one)
applies here as it does to the machines in ``inventory/team.py``.
"""

developers = ["@local"]
