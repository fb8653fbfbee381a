"""Switches sync on at the nodes given by port and measures how long until they
and the hub agree (equal merkle roots, empty outboxes). Used by bench/sync.sh.
With --relay the hub only relays the group (a GROUP_ID of its own): then the
nodes must agree among themselves."""
import http.client
import json
import os
import sys
import time

relay = "--relay" in sys.argv
args = [a for a in sys.argv[1:] if a != "--relay"]
hub, nodes = args[0], args[1:]
auth = {"Authorization": "Bearer " + os.environ["BENCH_TOKEN"], "Content-Type": "application/json"}


def call(port, method, path, body=None):
    c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
    c.request(method, path, json.dumps(body) if body else None, auth)
    r = c.getresponse()
    data = r.read()
    c.close()
    return json.loads(data)


start = time.time()
for p in nodes:
    call(p, "POST", "/store/config/config_sync/SYNC_ENABLED", {"data": {"value": "true"}})
while True:
    hs = [call(p, "GET", "/health") for p in ([] if relay else [hub]) + nodes]
    # The hub never syncs, so its own founding messages stay in its outbox:
    # only the nodes' outboxes must be empty.
    if len({h["merkle_hash"] for h in hs}) == 1 and all(h["pending"] == 0 for h in hs[-len(nodes):]):
        break
    if time.time() - start > 600:
        sys.exit("no convergence within 600 s")
    time.sleep(0.05)
took = time.time() - start
rows = len(call(nodes[0] if relay else hub, "GET", "/store/contacts?pluck=id")["data"])
print(f"   converged in {took:.1f} s: {rows} records on every node")
