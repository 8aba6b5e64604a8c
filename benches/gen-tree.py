"""Write a tree of small files with distinct, reproducible content, for the bench scripts.

usage: gen-tree.py DIR COUNT SIZE [--per-dir N] [--touch-percent P --round R]

Files are DIR/dNNNN/fNNNNNNN.bin, N per directory (default 1000). Each file's content is a
function of its index only, so two runs give identical trees. With --touch-percent, an existing
tree is edited instead: P% of the files, chosen by --round, get new content (same size), which is
what a dedup benchmark needs from one version to the next.
"""
import argparse
import os
import random

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("count", type=int)
ap.add_argument("size", type=int)
ap.add_argument("--per-dir", type=int, default=1000)
ap.add_argument("--touch-percent", type=float)
ap.add_argument("--round", type=int, default=0)
a = ap.parse_args()


def path(i):
    return os.path.join(a.dir, "d%04d" % (i // a.per_dir), "f%07d.bin" % i)


def content(i, version):
    # The index (and version) up front make every file distinct even when size is tiny.
    head = b"%d.%d\n" % (i, version)
    if len(head) >= a.size:
        return head[: a.size] if a.size > 0 else b""
    return head + random.Random(i * 1_000_003 + version).randbytes(a.size - len(head))


if a.touch_percent is None:
    for i in range(a.count):
        if i % a.per_dir == 0:
            os.makedirs(os.path.dirname(path(i)), exist_ok=True)
        # os.open/os.write avoid the buffered-file overhead, which dominates for 1M files.
        fd = os.open(path(i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, content(i, 0))
        os.close(fd)
else:
    n = max(1, int(a.count * a.touch_percent / 100))
    for i in random.Random(a.round).sample(range(a.count), n):
        with open(path(i), "wb") as f:
            f.write(content(i, a.round))
