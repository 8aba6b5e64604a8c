"""quilt3's Package API, driven from the Package API tests.

usage:
  package.py build SPEC_JSON NAME REGISTRY_DIR
      SPEC_JSON: {"files": {logical_key: path}, "meta": …, "entry_meta": {logical_key: …},
                  "message": …, "dirs": {prefix: url}}; paths may be s3:// URLs and
                  REGISTRY_DIR an s3:// registry; builds with set/set_meta into the registry, prints the top hash
  package.py browse REGISTRY_DIR NAME DEST
      browses NAME's latest version, installs it into DEST and prints what it saw as JSON
"""
import json
import sys

import quilt3


def build(spec_path, name, registry):
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    pkg = quilt3.Package()
    for prefix, url in spec.get("dirs", {}).items():
        pkg.set_dir(prefix, url)
    for key, path in spec["files"].items():
        pkg.set(key, path)
    if spec.get("meta") is not None:
        pkg.set_meta(spec["meta"])
    for key, meta in spec.get("entry_meta", {}).items():
        pkg[key].set_meta(meta)
    if "://" not in registry:
        registry = "file://" + registry
    top = pkg.build(name, registry=registry, message=spec.get("message"))
    sys.stdout.write(top + "\n")


def browse(registry, name, dest):
    pkg = quilt3.Package.browse(name, registry="file://" + registry)
    entries = {}
    for key, entry in pkg.walk():
        entries[key] = {"size": entry.size, "meta": entry.meta}
    quilt3.Package.install(name, registry="file://" + registry, dest=dest)
    out = {
        "top_hash": pkg.top_hash,
        "meta": pkg.meta,
        "message": pkg._meta.get("message"),
        "entries": entries,
    }
    sys.stdout.write(json.dumps(out, sort_keys=True) + "\n")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"build": build, "browse": browse}[cmd](*args)
