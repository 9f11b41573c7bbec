"""A sandbox HOME on a case-insensitive, case-preserving filesystem (tests/casefold_fs.py).

The fixture mounts the FUSE passthrough in a temporary directory, waits until the kernel shows
the mount, and at the end unmounts it (``fusermount3 -u``) and stops the FUSE process it
started, by its pid. Where FUSE cannot work (no /dev/fuse, no fusermount, no libfuse) the tests
using it are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.runs import REPO
from tests.support.sandbox import home_sandbox

MOUNT_WAIT = 15.0


def fusermount() -> str | None:
    return shutil.which("fusermount3") or shutil.which("fusermount")


def fuse_unavailable() -> str | None:
    """Why a FUSE filesystem cannot be mounted here, or None."""
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse on this machine"
    if not fusermount():
        return "no fusermount3/fusermount (Debian package fuse3)"
    found = subprocess.run([sys.executable, "-c", "import mfusepy"], capture_output=True, text=True)
    if found.returncode != 0:
        last = (found.stderr.strip().splitlines() or ["?"])[-1]
        return f"the FUSE binding mfusepy cannot load libfuse ({last}); pip install '.[test]' and apt-get install fuse3"
    return None


@contextmanager
def casefold_mount(root: Path, *, inode_per_spelling: bool = False):
    """Mount a case-insensitive view of ``root/backing`` at ``root/mount``; yield the mount.
    ``inode_per_spelling``: each spelling of a name reports its own inode (tests/casefold_fs.py)."""
    backing, mount = root / "backing", root / "mount"
    backing.mkdir(parents=True)
    mount.mkdir()
    log = root / "casefold_fs.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.casefold_fs", str(backing), str(mount),
             *(["--inode-per-spelling"] if inode_per_spelling else [])],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + MOUNT_WAIT
        while not os.path.ismount(mount):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the case-insensitive filesystem did not mount: {log.read_text()}")
            time.sleep(0.05)
        yield mount
    finally:
        if os.path.ismount(mount):
            unmounted = subprocess.run([fusermount(), "-u", str(mount)], capture_output=True)
            if unmounted.returncode != 0:
                # Still busy (a process started in it): detach now, it goes when they exit.
                subprocess.run([fusermount(), "-u", "-z", str(mount)], capture_output=True)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(params=["one inode", "inode per spelling"])
def casefold_sandbox(request, tmp_path, litellm_sources, uv_cache):
    """Like the ``sandbox`` fixture, with HOME on the case-insensitive filesystem: once reporting
    one inode for both spellings of a name (APFS), once an inode per spelling."""
    reason = fuse_unavailable()
    if reason:
        pytest.skip(f"case-insensitive home needs FUSE: {reason}")
    with casefold_mount(tmp_path / "casefold",
                        inode_per_spelling=request.param == "inode per spelling") as mount:
        home = mount / "home"
        home.mkdir()
        yield home_sandbox(home, litellm_sources, uv_cache)
