"""Check, without changing anything, that each host is in the openClaude state its data describes.

    pyinfra @local verify.py -y                   # the mode the host was deployed in
    pyinfra @local verify.py -y --data live=true  # also start the proxy, one prompt per tier

Prints a table of checks per host, once, with a one-line fix for each failure; pyinfra counts no
change, and exits non-zero exactly when a check fails. (-y skips pyinfra's confirmation prompt,
pointless for a read-only run.) It replaces the plan's hand-written testing-results document.
"""

from operations.deploys.verify import verify

verify()
