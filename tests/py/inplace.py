"""S3 data packaged in place, on the test server, with boto3 and quilt3.

usage:
  inplace.py fill BUCKET PREFIX [versioned]  upload the mixed fixture below PREFIX (and keys
                                             outside it); prints one line per object written
  inplace.py build BUCKET PREFIX NAME REGISTRY
                                             quilt3: Package().set_dir('/', s3://BUCKET/PREFIX)
                                             .build(NAME, registry=REGISTRY); prints the top hash
  inplace.py keys NAME REGISTRY              quilt3 browse; prints "logical_key<TAB>physical_key"
  inplace.py put BUCKET KEY TEXT             one small object (with a SHA256 checksum)
  inplace.py delete BUCKET KEY               delete one object
  inplace.py ls BUCKET                       every key of the bucket, one a line
  inplace.py many BUCKET PREFIX N SIZE [nochecksum]
                                             N objects of SIZE bytes, with SHA256 checksums
                                             unless nochecksum
"""
import hashlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3

MIB = 1024 * 1024


def client():
    return boto3.client("s3")


def data(seed, n):
    out = bytearray()
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        out += block
        block = hashlib.sha256(block).digest()
    return bytes(out[:n])


def multipart(s3, bucket, key, body, part_sizes):
    mp = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    parts, off = [], 0
    for i, size in enumerate(part_sizes, 1):
        r = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=mp["UploadId"], PartNumber=i,
            Body=body[off:off + size], ChecksumAlgorithm="SHA256",
        )
        parts.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
        off += size
    assert off == len(body), (off, len(body))
    s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=mp["UploadId"], MultipartUpload={"Parts": parts}
    )


def put(s3, bucket, key, body, checksum=True):
    extra = {"ChecksumAlgorithm": "SHA256"} if checksum else {}
    s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)


def fill(bucket, prefix, versioned):
    s3 = client()
    if versioned:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    p = prefix
    put(s3, bucket, p + "with-checksum.txt", b"hello, checksum\n")
    put(s3, bucket, p + "no-checksum.txt", b"hello, no checksum\n", checksum=False)
    put(s3, bucket, p + "empty", b"")
    put(s3, bucket, p + "dir with space/ünïcødé файл.txt", "unicode ✓\n".encode())
    put(s3, bucket, p + "two-versions.txt", b"first version\n")
    put(s3, bucket, p + "two-versions.txt", b"second version, the latest\n")
    # 17 MiB in 8 MiB parts: S3's composite checksum is quilt3's hash.
    multipart(s3, bucket, p + "mpu-8mib.bin", data(1, 17 * MIB), [8 * MIB, 8 * MIB, 1 * MIB])
    # 17 MiB in 6+6+5 MiB parts: as many parts as chunks, but not the chunks.
    multipart(s3, bucket, p + "mpu-6mib.bin", data(2, 17 * MIB), [6 * MIB, 6 * MIB, 5 * MIB])
    # 12 MiB in 5 MiB parts: more parts than chunks.
    multipart(s3, bucket, p + "mpu-5mib.bin", data(3, 12 * MIB), [5 * MIB, 5 * MIB, 2 * MIB])
    # A plain upload of more than one chunk: its checksum says nothing about the chunks.
    put(s3, bucket, p + "plain-9mib.bin", data(4, 9 * MIB))
    # A large object without any SHA256 checksum: read with parallel ranged GETs.
    put(s3, bucket, p + "big/no-checksum-20mib.bin", data(5, 20 * MIB), checksum=False)
    # A folder marker, as S3 consoles create them: skipped.
    put(s3, bucket, p + "folder/", b"")
    put(s3, bucket, p + "folder/inside.txt", b"inside a folder\n")
    # Keys outside the prefix.
    put(s3, bucket, p.rstrip("/") + "-sibling/outside.txt", b"outside\n")
    put(s3, bucket, "elsewhere/outside.txt", b"outside\n")
    print("filled")


def build(bucket, prefix, name, registry):
    import quilt3

    pkg = quilt3.Package().set_dir("/", f"s3://{bucket}/{prefix}")
    top = pkg.build(name, registry=registry)
    sys.stdout.write(top + "\n")


def keys(name, registry):
    import quilt3

    pkg = quilt3.Package.browse(name, registry=registry)
    for lk, entry in pkg.walk():
        sys.stdout.write(f"{lk}\t{entry.physical_key}\n")


def many(bucket, prefix, n, size, checksum):
    s3 = client()

    def one(i):
        body = (i.to_bytes(8, "little") * (size // 8 + 1))[:size]
        put(s3, bucket, f"{prefix}d{i // 1000:03d}/f{i:06d}.bin", body, checksum)

    with ThreadPoolExecutor(32) as ex:
        list(ex.map(one, range(n)))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "fill":
        fill(args[0], args[1], len(args) > 2 and args[2] == "versioned")
    elif cmd == "build":
        build(*args[:4])
    elif cmd == "keys":
        keys(*args[:2])
    elif cmd == "put":
        put(client(), args[0], args[1], args[2].encode())
    elif cmd == "delete":
        client().delete_object(Bucket=args[0], Key=args[1])
    elif cmd == "ls":
        pages = client().get_paginator("list_objects_v2").paginate(Bucket=args[0])
        for page in pages:
            for obj in page.get("Contents", []):
                sys.stdout.write(obj["Key"] + "\n")
    elif cmd == "many":
        many(args[0], args[1], int(args[2]), int(args[3]), not (len(args) > 4 and args[4] == "nochecksum"))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    os.environ.setdefault("QUILT_DISABLE_USAGE_METRICS", "true")
    main()
