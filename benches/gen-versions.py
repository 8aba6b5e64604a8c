"""A large file and its versions, for the chunk-dedup benchmark (scripts/bench-chunks.sh).

usage: gen-versions.py FILE SIZE            write FILE: SIZE pseudo-random bytes (seeded)
       gen-versions.py FILE SIZE --edit K   edit FILE in place into version K (K >= 2)

Version K inserts EDIT bytes (default 1 MiB) of new random bytes at a random offset, then
overwrites EDIT bytes at another random offset that does not overlap the insert. Offsets and
bytes are functions of K only (SHAKE-128 streams and random.Random(K)), so every run produces
the same files. The file grows by EDIT bytes per version. Prints what it did on stdout.
"""
import argparse
import hashlib
import os
import random

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("size", type=int)
ap.add_argument("--edit", type=int)
ap.add_argument("--edit-bytes", type=int, default=1 << 20)
a = ap.parse_args()

BLOCK = 64 << 20


def stream(seed: str, n: int) -> bytes:
    return hashlib.shake_128(seed.encode()).digest(n)


if a.edit is None:
    with open(a.file + ".tmp", "wb") as f:
        for i in range(0, a.size, BLOCK):
            f.write(stream(f"block-{i // BLOCK}", min(BLOCK, a.size - i)))
    os.replace(a.file + ".tmp", a.file)
    print(f"wrote {a.size} bytes")
else:
    with open(a.file, "rb") as f:
        data = bytearray(f.read())
    n, e = len(data), a.edit_bytes
    rng = random.Random(a.edit)
    new = stream(f"edit-{a.edit}", 2 * e)
    ins = rng.randrange(0, n + 1)
    data[ins:ins] = new[:e]
    # The overwrite goes at least a whole edit away from the inserted bytes.
    while True:
        over = rng.randrange(0, len(data) - e + 1)
        if over + e <= ins or over >= ins + e:
            break
    data[over : over + e] = new[e:]
    with open(a.file + ".tmp", "wb") as f:
        f.write(data)
    os.replace(a.file + ".tmp", a.file)
    print(f"version {a.edit}: inserted {e} bytes at {ins}, overwrote {e} bytes at {over}; {len(data)} bytes")
