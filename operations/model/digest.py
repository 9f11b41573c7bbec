"""The digest the target's POSIX ``cksum`` prints for a file's bytes, computed here: a converged
run compares files by it, so their contents never travel in a fact's output (pyinfra prints
that at -vv) and one ``cksum`` serves every file."""

from __future__ import annotations

import binascii

# Each byte with its bits in reverse order: cksum's CRC is zlib's CRC-32 on bit-reversed input.
_REVERSED_BITS = bytes(int(f"{byte:08b}"[::-1], 2) for byte in range(256))


def cksum(data: bytes) -> str:
    """``"<CRC> <size>"``, as ``cksum < FILE`` prints it (GNU and BSD alike)."""
    size, length = len(data), b""
    while size:
        length += bytes([size & 0xFF])
        size >>= 8
    reflected = binascii.crc32((data + length).translate(_REVERSED_BITS), 0xFFFFFFFF)
    return f"{int(f'{reflected:032b}'[::-1], 2)} {len(data)}"
