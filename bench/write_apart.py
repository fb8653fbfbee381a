"""Writes RECORDS records spread over the nodes given by port, 4 writers a node
(used by bench/sync.sh while the hub is away)."""
import http.client
import json
import os
import sys
import threading

records, ports = int(sys.argv[1]), sys.argv[2:]
auth = {"Authorization": "Bearer " + os.environ["BENCH_TOKEN"], "Content-Type": "application/json"}


def write(port, worker, count):
    c = http.client.HTTPConnection("127.0.0.1", int(port))
    for i in range(count):
        body = json.dumps({"data": {"first_name": f"{port}-{worker}-{i}", "last_name": "apart"}})
        c.request("POST", "/store/contacts", body, auth)
        r = c.getresponse()
        r.read()
        assert r.status == 201, r.status


threads = [threading.Thread(target=write, args=(p, w, records // 4)) for p in ports for w in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
