"""Manifests in the shapes older quilt versions wrote, made with quilt3's own hash functions.

usage:
  legacy.py write REGISTRY NAME DATA_DIR
      Writes data files into DATA_DIR and, into the quilt3 local registry REGISTRY, a manifest
      for NAME whose entries are out of quilt3's walk order (a Cyrillic key before `b/x.json`),
      whose header still has the obsolete `top_hash` key, and whose entries use the legacy
      `SHA256` and the `CRC64NVME` hash types next to `sha2-256-chunked`. quilt3 loads it,
      checks every entry's hash against its file, and its top hash names the manifest.
      Prints that top hash.
"""
import json
import os
import sys

import quilt3
from quilt3 import checksums
from quilt3.util import PhysicalKey


def data(seed, size):
    out = bytearray()
    x = seed
    while len(out) < size:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out += x.to_bytes(8, "little")
    return bytes(out[:size])


# (logical key, hash type, content), in the file's (unsorted) order.
FILES = [
    ("Данные/отчёт 1.csv", "sha2-256-chunked", b"id,value\n1,2\n"),
    ("b/x.json", "SHA256", b'{"legacy": true}\n'),
    ("crc/big.bin", "CRC64NVME", data(7, 9_000_000)),
    ("crc/empty", "CRC64NVME", b""),
    ("a.txt", "CRC64NVME", b"hello"),
    ("b-c.txt", "SHA256", b""),
    ("b/a.txt", "sha2-256-chunked", data(3, 1000)),
]


def hash_value(kind, content):
    if kind == "SHA256":
        return checksums.legacy_calculate_checksum_bytes(content)
    return checksums.calculate_multipart_checksum_bytes(content, checksum_type=kind)


def write(registry, name, data_dir):
    header = {
        "version": "v0",
        "message": "written by an older quilt",
        "top_hash": {"alg": "v0", "value": "0" * 64},
        "user_meta": {"source": "legacy"},
    }
    lines = [json.dumps(header)]
    for i, (key, kind, content) in enumerate(FILES):
        path = os.path.join(data_dir, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
        entry = {
            "logical_key": key,
            "physical_keys": [str(PhysicalKey.from_path(path))],
            "size": len(content),
            "hash": {"type": kind, "value": hash_value(kind, content)},
            "meta": {"n": i},
        }
        lines.append(json.dumps(entry, ensure_ascii=(i % 2 == 1)))
        if i == 2:
            lines.append(json.dumps({"logical_key": "crc/", "meta": {"dir": True}}))
    text = "".join(line + "\n" for line in lines)

    os.makedirs(registry, exist_ok=True)
    scratch = os.path.join(registry, "manifest.jsonl")
    with open(scratch, "w", encoding="utf-8") as f:
        f.write(text)
    with open(scratch, encoding="utf-8") as f:
        pkg = quilt3.Package.load(f)
    os.remove(scratch)
    for key, _, content in FILES:
        pkg[key]._verify_hash(content)  # quilt3 accepts every value written above
    top = pkg.top_hash

    packages = os.path.join(registry, ".quilt", "packages")
    pointers = os.path.join(registry, ".quilt", "named_packages", name)
    os.makedirs(packages, exist_ok=True)
    os.makedirs(pointers, exist_ok=True)
    with open(os.path.join(packages, top), "wb") as f:
        f.write(text.encode("utf-8"))
    for pointer in ("1600000000", "latest"):
        with open(os.path.join(pointers, pointer), "w") as f:
            f.write(top)
    sys.stdout.write(top + "\n")


if sys.argv[1] == "write":
    write(*sys.argv[2:5])
else:
    raise SystemExit(f"unknown command {sys.argv[1]}")
