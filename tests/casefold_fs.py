"""A case-insensitive, case-preserving FUSE passthrough, like macOS's default APFS home.

Every path the kernel hands over is resolved one component at a time against the backing
directory: the exact name when it exists, else the entry whose name matches ignoring case, else
the name as given (a new entry keeps the case it was created with). So ``openclaude`` and
``openClaude`` are one directory entry, as on a Mac, and a second entry differing only in case
can never be made.

    python -m tests.casefold_fs BACKING_DIR MOUNTPOINT [--inode-per-spelling]

runs in the foreground until unmounted. By default it reports the backing inodes, so both
spellings of a name are one file to ``[ a -ef b ]`` as on APFS. ``--inode-per-spelling`` leaves
inode numbers to FUSE, which gives each spelling its own, as some FUSE and network filesystems
do: then only the directory listing shows that ``openclaude`` is ``openClaude``.

Run by the ``casefold_home`` fixture (tests/casefold_home.py), which mounts, waits and unmounts.
"""

from __future__ import annotations

import errno
import os
import sys
import time

import mfusepy

_STAT_FIELDS = ("st_mode", "st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_size",
                "st_atime_ns", "st_mtime_ns", "st_ctime_ns")
_UTIME_NOW, _UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


class CaseFoldPassthrough(mfusepy.Operations):
    """Passes every call to ``root``, looking names up case-insensitively."""

    use_ns = True

    def __init__(self, root: str):
        self.root = os.path.realpath(root)

    # --- name resolution ---------------------------------------------------------------------

    def _real(self, path: str) -> str:
        """The backing path for ``path``: each existing component in the case it was created."""
        real = self.root
        for name in (part for part in path.split("/") if part):
            candidate = os.path.join(real, name)
            if not os.path.lexists(candidate):
                folded = name.casefold()
                try:
                    match = next((entry for entry in os.listdir(real)
                                  if entry.casefold() == folded), None)
                except OSError:
                    match = None
                if match is not None:
                    candidate = os.path.join(real, match)
            real = candidate
        return real

    @staticmethod
    def _call(function, *args):
        try:
            return function(*args)
        except OSError as error:
            raise mfusepy.FuseOSError(error.errno or errno.EIO) from None

    # --- metadata ----------------------------------------------------------------------------

    def getattr(self, path, fh=None):
        info = self._call(os.fstat, fh) if fh is not None else self._call(os.lstat, self._real(path))
        attrs = {field: getattr(info, field) for field in _STAT_FIELDS}
        for name in ("atime", "mtime", "ctime"):
            attrs[f"st_{name}"] = attrs.pop(f"st_{name}_ns")
        return attrs

    def access(self, path, amode):
        if not os.access(self._real(path), amode, follow_symlinks=False):
            raise mfusepy.FuseOSError(errno.EACCES)
        return 0

    def readdir(self, path, fh):
        # With use_ino every entry needs its inode: readdir(3) skips entries whose inode is 0.
        real = self._real(path)
        entries = [(name, self._call(os.lstat, os.path.join(real, name)))
                   for name in (".", "..")]
        with os.scandir(real) as found:
            entries += [(entry.name, entry.stat(follow_symlinks=False)) for entry in found]
        return [(name, {"st_mode": info.st_mode, "st_ino": info.st_ino}, 0)
                for name, info in entries]

    def readlink(self, path):
        return self._call(os.readlink, self._real(path))

    def statfs(self, path):
        info = self._call(os.statvfs, self._real(path))
        return {key: getattr(info, key) for key in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files",
            "f_flag", "f_frsize", "f_namemax")}

    def chmod(self, path, mode):
        return self._call(os.chmod, self._real(path), mode)

    def chown(self, path, uid, gid):
        return self._call(os.lchown, self._real(path), uid, gid)

    def utimens(self, path, times=None):
        real = self._real(path)
        if times is not None:
            # utimensat's "now" and "leave alone" arrive as special nanosecond values (touch).
            old = self._call(os.lstat, real)
            now = time.time_ns()
            times = tuple(now if value == _UTIME_NOW else current if value == _UTIME_OMIT else value
                          for value, current in zip(times, (old.st_atime_ns, old.st_mtime_ns)))
        return self._call(lambda: os.utime(real, ns=times, follow_symlinks=False))

    # --- entries -----------------------------------------------------------------------------

    def mkdir(self, path, mode):
        return self._call(os.mkdir, self._real(path), mode)

    def rmdir(self, path):
        return self._call(os.rmdir, self._real(path))

    def mknod(self, path, mode, dev):
        return self._call(os.mknod, self._real(path), mode, dev)

    def unlink(self, path):
        return self._call(os.unlink, self._real(path))

    def symlink(self, target, source):
        return self._call(os.symlink, source, self._real(target))

    def link(self, target, source):
        return self._call(os.link, self._real(source), self._real(target))

    def rename(self, old, new):
        real_old, real_new = self._real(old), self._real(new)
        if real_old == real_new and old != new:
            # A case-only rename of one entry: the new spelling is kept, as on macOS.
            real_new = os.path.join(os.path.dirname(real_old), os.path.basename(new))
        return self._call(os.rename, real_old, real_new)

    # --- file contents -----------------------------------------------------------------------

    def open(self, path, flags):
        return self._call(os.open, self._real(path), flags)

    def create(self, path, mode, flags):
        # The caller's flags, O_EXCL included: `set -C` (noclobber) relies on it.
        return self._call(os.open, self._real(path), flags | os.O_CREAT, mode)

    def read(self, path, size, offset, fh):
        return self._call(os.pread, fh, size, offset)

    def write(self, path, data, offset, fh):
        return self._call(os.pwrite, fh, data, offset)

    def truncate(self, path, length, fh=None):
        if fh is not None:
            return self._call(os.ftruncate, fh, length)
        return self._call(os.truncate, self._real(path), length)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        return self._call(os.fdatasync if datasync else os.fsync, fh)

    def release(self, path, fh):
        return self._call(os.close, fh)


def main(backing: str, mountpoint: str, *options: str) -> None:
    # No kernel caching of names or attributes: "openclaude" must never outlive a rename of
    # "openClaude". use_ino reports the backing inodes, so `[ a -ef b ]` sees one file.
    mfusepy.FUSE(CaseFoldPassthrough(backing), mountpoint, foreground=True, nothreads=True,
                 use_ino="--inode-per-spelling" not in options, default_permissions=True,
                 entry_timeout=0, attr_timeout=0, negative_timeout=0, fsname="casefold")


if __name__ == "__main__":
    main(*sys.argv[1:])
