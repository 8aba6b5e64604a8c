"""Build a package with quilt3 the way `quilt3 push --dir` does, into a local registry.

usage: build.py DIR NAME REGISTRY_DIR [--message M] [--meta FILE] [--entry-meta FILE]
Prints the top hash.
"""
import argparse
import json
import sys

import quilt3

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("name")
ap.add_argument("registry")
ap.add_argument("--message")
ap.add_argument("--meta")
ap.add_argument("--entry-meta")
a = ap.parse_args()

pkg = quilt3.Package()
meta = None
if a.meta:
    with open(a.meta, encoding="utf-8") as f:
        meta = json.load(f)
pkg.set_dir("/", a.dir, meta=meta)
if a.entry_meta:
    with open(a.entry_meta, encoding="utf-8") as f:
        for key, value in json.load(f).items():
            pkg[key].set_meta(value)
top = pkg.build(a.name, registry="file://" + a.registry, message=a.message)
sys.stdout.write(top + "\n")
