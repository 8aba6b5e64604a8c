"""Acts on the test S3 server behind quilt's back, with boto3 (the endpoint and keys come from
the environment, as for quilt3).

usage:
  s3admin.py versioning BUCKET              enable versioning (PutBucketVersioning)
  s3admin.py versions BUCKET KEY            print the version ids of KEY, newest first
  s3admin.py delete-version BUCKET KEY ID   delete one version of KEY
"""
import os
import sys

import boto3

s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
cmd, bucket = sys.argv[1], sys.argv[2]
if cmd == "versioning":
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    status = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if status != "Enabled":
        raise SystemExit(f"versioning of {bucket} is {status!r} after enabling it")
elif cmd == "versions":
    key = sys.argv[3]
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    for v in sorted(listed, key=lambda v: v["LastModified"], reverse=True):
        if v["Key"] == key:
            print(v["VersionId"])
elif cmd == "delete-version":
    key, version = sys.argv[3], sys.argv[4]
    s3.delete_object(Bucket=bucket, Key=key, VersionId=version)
else:
    raise SystemExit(f"unknown command {cmd}")
