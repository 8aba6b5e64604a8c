"""quilt3 and boto3 for the push --dest and delete --remote tests.

usage:
  dest_versions.py put-plain BUCKET KEY FILE       PUT without a checksum
  dest_versions.py keys NAME REGISTRY TOP          print each entry's physical key, one per line
  dest_versions.py install NAME REGISTRY TOP DEST  install that version by top hash
  dest_versions.py delete NAME REGISTRY HASH       quilt3.delete_package(..., top_hash=HASH)
"""
import os
import sys

import boto3
import quilt3


def s3():
    return boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])


cmd = sys.argv[1]
if cmd == "put-plain":
    bucket, key, path = sys.argv[2:5]
    with open(path, "rb") as f:
        s3().put_object(Bucket=bucket, Key=key, Body=f.read())
elif cmd == "keys":
    name, registry, top = sys.argv[2:5]
    pkg = quilt3.Package.browse(name, registry=registry, top_hash=top)
    for lk, entry in sorted(pkg.walk()):
        sys.stdout.write(f"{lk}\t{entry.physical_key}\n")
elif cmd == "install":
    name, registry, top, dest = sys.argv[2:6]
    quilt3.Package.install(name, registry=registry, dest=dest, top_hash=top)
elif cmd == "delete":
    name, registry, top = sys.argv[2:5]
    quilt3.delete_package(name, registry=registry, top_hash=top)
else:
    raise SystemExit(f"unknown command {cmd}")
