#!/usr/bin/env python3
# Compares the POST /containers/create bodies of `docker create ARGS` and `strata create ARGS`.
#
# Why: the strata CLI must send what the docker CLI sends for the same command line, so a
# daemon written against Docker's behaviour sees nothing new. This runs both CLIs through the
# docker-wire logging proxy (/work/shared/tools/docker-wire/proxy.py) and compares.
#
# Usage: start the proxy in front of a daemon, then feed command lines on stdin, one per line,
#   arguments separated by \x1f (so they may contain spaces):
#     UPSTREAM=/run/ref-docker.sock python3 proxy.py /tmp/dw/p.sock /tmp/dw/log.jsonl &
#     printf 'busybox\x1ftrue\n' | WIRE_LOG=/tmp/dw/log.jsonl WIRE_SOCK=/tmp/dw/p.sock \
#         STRATA=target/debug/strata python3 compare-create-bodies.py
# Environment: WIRE_LOG (the proxy's log), WIRE_SOCK (its socket), STRATA, DOCKER (binaries).
import json, base64, sys, subprocess, os
LOG=os.environ.get("WIRE_LOG","/tmp/dw/log.jsonl")
SOCK=os.environ.get("WIRE_SOCK","/tmp/dw/p.sock")
STRATA=os.environ.get("STRATA","target/debug/strata")
DOCKER=os.environ.get("DOCKER","/usr/local/bin/docker")
def bodies():
    conns={}
    for line in open(LOG):
        r=json.loads(line)
        if r["d"]==">": conns.setdefault(r["c"],b""); conns[r["c"]]+=base64.b64decode(r["b"])
    out=[]
    for c in sorted(conns):
        data=conns[c]
        idx=0
        while True:
            i=data.find(b"POST /v1.41/containers/create",idx)
            if i<0: break
            h=data.find(b"\r\n\r\n",i)
            head=data[i:h].decode()
            cl=[l for l in head.split("\r\n") if l.lower().startswith("content-length")]
            n=int(cl[0].split(":")[1]) if cl else 0
            out.append((head.split("\r\n")[0], data[h+4:h+4+n]))
            idx=h+4+n
    return out
env=dict(os.environ, DOCKER_HOST="unix://"+SOCK)
cases=[l.split("\x1f") for l in sys.stdin.read().split("\n") if l]
bad=0
for args in cases:
    open(LOG,"w").close()
    subprocess.run([DOCKER,"create"]+args,env=env,capture_output=True)
    subprocess.run([STRATA,"create"]+args,env=env,capture_output=True)
    b=bodies()
    if len(b)!=2: print("MISSING", args, [x[0] for x in b]); bad+=1; continue
    d,s=json.loads(b[0][1]),json.loads(b[1][1])
    for x in (d,s):
        if x["HostConfig"].get("Binds"): x["HostConfig"]["Binds"].sort()
    if d!=s or b[0][0]!=b[1][0]:
        bad+=1; print("DIFF", args, b[0][0], b[1][0])
        for k in set(d)|set(s):
            if d.get(k)!=s.get(k):
                if k=="HostConfig":
                    for hk in set(d[k])|set(s[k]):
                        if d[k].get(hk)!=s[k].get(hk): print("  HostConfig.",hk, d[k].get(hk), "|", s[k].get(hk))
                else: print("  ",k,d.get(k),"|",s.get(k))
    else: print("SAME", " ".join(args))
subprocess.run([DOCKER,"container","prune","-f"],env=env,capture_output=True)
print("bad",bad)
