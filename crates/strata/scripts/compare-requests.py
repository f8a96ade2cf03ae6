#!/usr/bin/env python3
# Compares the request lines (method, path, sorted query) of `docker ARGS` and `strata ARGS`.
#
# Why: the strata CLI must send what the docker CLI sends for the same command line, so a
# daemon written against Docker's behaviour sees nothing new. This runs both CLIs through the
# docker-wire logging proxy (/work/shared/tools/docker-wire/proxy.py) and compares.
#
# Usage: start the proxy in front of a daemon, then feed command lines on stdin, one per line,
#   arguments separated by \x1f (so they may contain spaces):
#     UPSTREAM=/run/ref-docker.sock python3 proxy.py /tmp/dw/p.sock /tmp/dw/log.jsonl &
#     printf 'busybox\x1ftrue\n' | WIRE_LOG=/tmp/dw/log.jsonl WIRE_SOCK=/tmp/dw/p.sock \
#         STRATA=target/debug/strata python3 compare-requests.py
# Environment: WIRE_LOG (the proxy's log), WIRE_SOCK (its socket), STRATA, DOCKER (binaries).
import json, base64, sys, subprocess, os, re
LOG=os.environ.get("WIRE_LOG","/tmp/dw/log.jsonl")
SOCK=os.environ.get("WIRE_SOCK","/tmp/dw/p.sock")
STRATA=os.environ.get("STRATA","target/debug/strata")
DOCKER=os.environ.get("DOCKER","/usr/local/bin/docker")
def reqs():
    conns={}
    for line in open(LOG):
        r=json.loads(line)
        if r["d"]==">": conns.setdefault(r["c"],b""); conns[r["c"]]+=base64.b64decode(r["b"])
    out=[]
    for c in sorted(conns):
        for m in re.finditer(rb"(GET|POST|PUT|HEAD|DELETE) (/v1\.41[^ ]*) HTTP/1.1", conns[c]):
            p=m.group(2).decode()
            p=re.sub(r"[0-9a-f]{64}","ID",p)
            p=re.sub(r"(since|until)=[0-9.]+","\\1=T",p)
            path,_,q=p.partition("?")
            out.append(m.group(1).decode()+" "+path+("?"+"&".join(sorted(q.split("&"))) if q else ""))
    return out
env=dict(os.environ, DOCKER_HOST="unix://"+SOCK)
for line in sys.stdin.read().split("\n"):
    if not line: continue
    args=line.split("\x1f")
    res=[]
    for tool in [DOCKER,STRATA]:
        open(LOG,"w").close()
        subprocess.run([tool]+args,env=env,capture_output=True,timeout=30)
        res.append(reqs())
    print("SAME" if res[0]==res[1] else "DIFF", " ".join(args))
    if res[0]!=res[1]: print("   docker:",res[0]); print("   strata:",res[1])
