"""Example inventory for a team: copy it, put in your machines, and run from the repository root.

    pyinfra inventory/team.py deploy.py                         # every host, in parallel
    pyinfra inventory/team.py deploy.py --limit eu_team         # one group
    pyinfra inventory/team.py deploy.py --limit bob.dev.example.com   # one host
    pyinfra inventory/team.py rollback.py                       # back to all-Bedrock, every host
    pyinfra inventory/team.py deploy.py --dry                   # show what would change

How pyinfra reads this file:

* Every module-level list is a host group; names starting with ``_`` are not groups. The file's
  own name (``team``) is a group too, holding every host in it.
* A host is a name (it is also the SSH host name), or ``(name, {data})`` for per-host data.
  A host listed in several groups is one host (its data from each listing is merged): give
  its data once, where it is first listed, and only its name elsewhere.
* Data precedence, strongest first: ``--data key=value`` on the command line, the host's data
  here, ``group_data/<group>.py`` for each of its groups, then ``group_data/all.py`` (every
  default of the deploy). pyinfra reads ``group_data/`` from the directory it runs in, so run
  from the repository root.

Each machine is deployed over SSH as its developer (``ssh_user``), not root: paths come from
that user's home, uv is found on PATH, in ~/.local/bin or ~/.cargo/bin, or installed with
``python3 -m pip install --target`` (no login shell, no sudo). Do not add ``_sudo``.

One host that cannot be reached, or whose ~/.claude/settings.json is malformed, fails alone
with its error; the others are converged, and pyinfra exits non-zero. Fix it and re-run:
converged hosts report no changes.
"""

# Connection data shared by every host below; pyinfra also honours ~/.ssh/config
# (HostName, User, Port, IdentityFile, ProxyJump), so these keys are only needed where it doesn't
# say them. ssh_known_hosts_file / ssh_strict_host_key_checking are the other usual keys.
_SSH = {"ssh_port": 22}

developers = [
    ("alice.dev.example.com", {**_SSH, "ssh_user": "alice"}),
    # Bob runs something else on port 4000: his proxy listens on 4100 (the launcher and
    # Claude Code's settings follow the port).
    ("bob.dev.example.com", {**_SSH, "ssh_user": "bob", "litellm_port": 4100}),
    # Carla tries the OAuth fork instead of the official release (deploy.py only: rollback.py
    # always installs the release).
    ("carla.dev.example.com", {**_SSH, "ssh_user": "carla", "litellm_source": "fork"}),
    # Dmitri is in the EU team below; his machine listens for SSH on another port.
    ("dmitri.dev.example.com", {**_SSH, "ssh_user": "dmitri", "ssh_port": 2222}),
]

# The EU team's machines also get group_data/eu_team.py (their Bedrock region). The names refer
# to the hosts above, with the data given there.
eu_team = [
    "dmitri.dev.example.com",
]
