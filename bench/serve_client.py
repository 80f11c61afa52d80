#!/usr/bin/env python3
"""bench/serve_client.py -- drive `sluice serve` over keep-alive mTLS connections.

Usage: serve_client.py PORT CA CRT KEY CONTRACT SQL SECONDS CONNECTIONS
Each connection is one thread posting the query back to back for SECONDS;
prints one JSON line: answered (201), busy (429), other, per second, p50, p99 (ms).
"""
import http.client, json, socket, ssl, sys, threading, time

port, ca, crt, key, contract, sql = sys.argv[1:7]
seconds, conns = float(sys.argv[7]), int(sys.argv[8])
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(crt, key)
body = json.dumps({"contract": contract, "sql": sql}).encode()
lat, codes, lock = [], {}, threading.Lock()


def worker():
    c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
    c.connect()
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    mine, mycodes = [], {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        c.request("POST", "/v1/queries", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        dt = time.perf_counter() - t0
        mycodes[r.status] = mycodes.get(r.status, 0) + 1
        if r.status == 201:
            mine.append(dt)
        elif r.status == 429:
            time.sleep(0.001)
    with lock:
        lat.extend(mine)
        for k, v in mycodes.items():
            codes[k] = codes.get(k, 0) + v


t0 = time.monotonic()
ts = [threading.Thread(target=worker) for _ in range(conns)]
for t in ts:
    t.start()
for t in ts:
    t.join()
wall = time.monotonic() - t0
lat.sort()
q = lambda p: round(1000 * lat[min(len(lat) - 1, int(p * len(lat)))], 3) if lat else None
print(json.dumps({"answered": codes.get(201, 0), "busy": codes.get(429, 0),
                  "other": sum(v for k, v in codes.items() if k not in (201, 429)),
                  "per_second": round(codes.get(201, 0) / wall, 1), "p50_ms": q(0.5), "p99_ms": q(0.99)}))
