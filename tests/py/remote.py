"""quilt3 against a registry quilt pushed to (or that quilt pulls from).

usage:
  remote.py install NAME REGISTRY DEST   browse + install; prints the top hash
  remote.py push DIR NAME REGISTRY MSG   set_dir + push (build for file://); prints the top hash
"""
import sys

import quilt3

cmd = sys.argv[1]
if cmd == "install":
    name, registry, dest = sys.argv[2:5]
    pkg = quilt3.Package.browse(name, registry=registry)
    top = pkg.top_hash
    quilt3.Package.install(name, registry=registry, dest=dest, top_hash=top)
    sys.stdout.write(top + "\n")
elif cmd == "push":
    d, name, registry, msg = sys.argv[2:6]
    pkg = quilt3.Package()
    pkg.set_dir("/", d)
    if registry.startswith("file://"):
        # quilt3 only pushes to S3; a local registry is written with build, and its
        # physical keys point at the original files.
        top = pkg.build(name, registry=registry, message=msg)
    else:
        top = pkg.push(name, registry=registry, message=msg, force=True).top_hash
    sys.stdout.write(top + "\n")
else:
    raise SystemExit(f"unknown command {cmd}")
