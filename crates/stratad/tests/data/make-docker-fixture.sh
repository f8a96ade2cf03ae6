#!/usr/bin/env bash
# Regenerates docker-20.10-3layers.tar: a three-layer image (symlink, hardlink, ownership, modes,
# a whiteout, an opaque directory) that a real Docker 20.10 loaded and then *saved*, so the tests
# check that strata loads what Docker writes. Needs the reference daemon on
# unix:///run/ref-docker.sock; the output is committed, so the tests never need it.
set -euo pipefail
cd "$(dirname "$0")"
REF=${REF:-unix:///run/ref-docker.sock}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import hashlib, io, json, os, sys, tarfile
work = sys.argv[1]
def layer(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"]); ti.mtime = 1700000000
            ti.uid = e.get("uid", 0); ti.gid = e.get("gid", 0); ti.mode = e.get("mode", 0o644)
            data = e.get("data")
            if e.get("dir"): ti.type = tarfile.DIRTYPE; ti.mode = e.get("mode", 0o755)
            elif "link" in e: ti.type = tarfile.SYMTYPE; ti.linkname = e["link"]
            elif "hard" in e: ti.type = tarfile.LNKTYPE; ti.linkname = e["hard"]
            if data is not None: ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()
l1 = layer([
    {"name": "etc", "dir": True}, {"name": "bin", "dir": True},
    {"name": "etc/passwd", "data": b"root:x:0:0::/root:/bin/sh\n"},
    {"name": "etc/hard", "hard": "etc/passwd"},
    {"name": "bin/hello", "data": b"#!/bin/sh\necho hello\n", "mode": 0o755},
    {"name": "bin/link", "link": "hello"},
    {"name": "secret", "dir": True, "mode": 0o750},
    {"name": "secret/old", "data": b"old\n"},
    {"name": "home/user/file", "data": b"mine\n", "uid": 1000, "gid": 1000, "mode": 0o600},
])
l2 = layer([
    {"name": "data", "dir": True}, {"name": "data/a.txt", "data": b"a" * 3000},
    {"name": "bin", "dir": True}, {"name": "bin/.wh.link", "data": b""},
    {"name": "etc", "dir": True}, {"name": "etc/motd", "data": b"second layer\n"},
])
l3 = layer([
    {"name": "secret", "dir": True, "mode": 0o750}, {"name": "secret/.wh..wh..opq", "data": b""},
    {"name": "secret/new", "data": b"new\n"},
])
diffs = ["sha256:" + hashlib.sha256(l).hexdigest() for l in (l1, l2, l3)]
hist = [{"created": "2026-11-26T00:00:0%dZ" % i, "created_by": "fixture layer %d" % (i + 1)} for i in range(3)]
cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-11-26T00:00:02Z",
    "config": {"Cmd": ["/bin/hello"], "Env": ["PATH=/bin"], "Labels": {"fixture": "3layers"}},
    "history": hist, "rootfs": {"type": "layers", "diff_ids": diffs}}, separators=(",", ":")).encode()
cid = hashlib.sha256(cfg).hexdigest()
with tarfile.open(os.path.join(work, "in.tar"), "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
    for i, l in enumerate((l1, l2, l3)):
        add("l%d/layer.tar" % i, l)
    add(cid + ".json", cfg)
    add("manifest.json", json.dumps([{"Config": cid + ".json", "RepoTags": ["fixture/three:layers"],
        "Layers": ["l%d/layer.tar" % i for i in range(3)]}]).encode())
PY
docker -H "$REF" rmi fixture/three:layers >/dev/null 2>&1 || true
docker -H "$REF" load -i "$work/in.tar"
docker -H "$REF" save -o docker-20.10-3layers.tar fixture/three:layers
docker -H "$REF" image inspect fixture/three:layers --format '{{.Id}} {{json .RootFS.Layers}} {{.Size}}' > docker-20.10-3layers.expect
docker -H "$REF" rmi fixture/three:layers >/dev/null
ls -l docker-20.10-3layers.tar
