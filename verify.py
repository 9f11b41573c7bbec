"""Check, without changing anything, that each host is in the openClaude state its data describes.

    pyinfra @local verify.py                      # the mode the host was deployed in
    pyinfra @local verify.py --data live=true     # also start the proxy, one prompt per tier

Prints a table of checks per host, with a one-line fix for each failure; exits non-zero when any
check fails. It replaces the plan's hand-written testing-results document.
"""

from operations.verify import verify

verify()
