"""The run lock between ``mkdir`` and its owner file: a run that has just taken
``~/.openclaude.lock`` and not yet named itself holds it against a second run; only a lock left
without an owner for longer than the grace docs/safety.md states (a minute) is a killed run's,
taken over. Real deploys on a deployed HOME (tests/test_faults.py's fixtures)."""

from __future__ import annotations

import os
import time

import pytest

from tests.faults_support import CONFIG, LOCK
from tests.test_faults import deployed, deployed_template  # noqa: F401  (fixtures)

GRACE = 60  # seconds, as docs/safety.md states
# A change, so that the run takes the lock.
CHANGE = {"aws_region": "eu-west-1", "lock_wait": 2}


def ownerless_lock(sandbox, age: float) -> None:
    lock = sandbox.path(LOCK)
    lock.mkdir()
    then = time.time() - age
    os.utime(lock, (then, then))


@pytest.mark.parametrize("age", [0, GRACE / 2], ids=["just-taken", "within-the-grace"])
def test_a_lock_whose_owner_is_not_written_yet_holds_off_a_second_run(deployed, age):  # noqa: F811
    ownerless_lock(deployed, age)
    before = deployed.snapshot()

    result = deployed.pyinfra("deploy.py", data=CHANGE)

    assert result.returncode == 1, result.output
    assert ("another openClaude run is changing this home: another openClaude run (pid unknown, "
            "started an unknown time;") in result.output, result.output
    assert "took over" not in result.output
    assert deployed.snapshot() == before
    assert "eu-west-1" not in deployed.path(CONFIG).read_text()
    # The lock is still the other run's: the refused run neither took nor released it.
    assert deployed.path(LOCK).is_dir() and list(deployed.path(LOCK).iterdir()) == []


def test_a_lock_without_an_owner_past_the_grace_is_taken_over(deployed):  # noqa: F811
    ownerless_lock(deployed, 2 * GRACE)

    result = deployed.pyinfra("deploy.py", data=CHANGE)

    assert result.returncode == 0, result.output
    assert "openClaude: took over" in result.output and "its owner file is missing" in result.output
    assert "eu-west-1" in deployed.path(CONFIG).read_text()
    assert not deployed.path(LOCK).exists()
