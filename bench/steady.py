"""Steady state: two nodes each take RATE creates/s for SECONDS s; one write in
ten is followed on the other node until it is readable there. Prints the
latency percentiles. Used by bench/sync.sh."""
import http.client
import json
import sys
import threading
import time
import urllib.request

rate, seconds, ports = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:5]


def token(port):
    body = json.dumps({"data": {"email": "admin@example.com", "password": "bench-password"}}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/auth/login", body)
    return json.load(urllib.request.urlopen(req))["data"][0]["token"]


tokens = {p: token(p) for p in ports}
latencies, lost, lock = [], [0], threading.Lock()


def follow(port, rid, written):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    auth = {"Authorization": "Bearer " + tokens[port]}
    while time.time() - written < 30:
        c.request("GET", f"/store/contacts/{rid}", None, auth)
        r = c.getresponse()
        r.read()
        if r.status == 200:
            with lock:
                latencies.append(time.time() - written)
            return
        time.sleep(0.01)
    with lock:
        lost[0] += 1


WRITERS = 8  # connections per node: each create waits for its commit's fsync


def writer(port, other, lane):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    auth = {"Authorization": "Bearer " + tokens[port], "Content-Type": "application/json"}
    followers = []
    start, n = time.time(), 0
    lane_rate = rate / WRITERS
    while time.time() - start < seconds:
        due = start + n / lane_rate
        if due > time.time():
            time.sleep(due - time.time())
        c.request("POST", "/store/contacts", json.dumps({"data": {"first_name": f"s{lane}-{n}"}}), auth)
        r = c.getresponse()
        body = json.loads(r.read())
        with lock:
            written[0] += 1
        if r.status == 201 and n % 10 == 0:
            t = threading.Thread(target=follow, args=(other, body["data"][0]["id"], time.time()))
            t.start()
            followers.append(t)
        n += 1
    for t in followers:
        t.join()


written = [0]
ws = [threading.Thread(target=writer, args=(a, b, lane))
      for a, b in ((ports[0], ports[1]), (ports[1], ports[0])) for lane in range(WRITERS)]
for t in ws:
    t.start()
for t in ws:
    t.join()
latencies.sort()
pct = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]
print(f"   a write on one node readable on the other: p50 {pct(0.5) * 1000:.0f} ms, "
      f"p99 {pct(0.99) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms "
      f"({len(latencies)} followed, {lost[0]} not seen within 30 s; "
      f"{written[0] / seconds / 2:.0f} creates/s per node)")
