"""Partitions and a flaky hub: two nodes sync through tests/e2e/proxy.py while
clients keep writing to both. The proxy cuts the links, delays the hub's
answers past a second, and drops answers after the hub stored the batch; then
the hub is frozen with SIGSTOP. Local writes never fail; after healing, every
node holds every acknowledged write with equal merkle roots within
HEAL_BOUND_S (default 15) seconds. PHASE_S (default 2) is each fault's length;
scripts/faults.sh runs longer phases."""
import os
import signal
import sys
import threading
import time
import unittest

from harness import NodeTestCase
from proxy import Proxy

PHASE = float(os.environ.get("PHASE_S", "2"))
HEAL_BOUND = float(os.environ.get("HEAL_BOUND_S", "15"))
SECRET = "partition-jwt-secret-0123456789abcdef"


class PartitionTest(NodeTestCase):
    def test_nodes_keep_writing_through_faults_and_converge_after(self):
        hub = self.node(JWT_SECRET=SECRET).start()
        proxy = Proxy(hub.port)
        self.addCleanup(proxy.shutdown)
        sync = dict(JWT_SECRET=SECRET, SYNC_ENABLED="true", SYNC_TIMER_MS="100",
                    SYNC_BACKOFF_MAX_MS="500", SYNC_ENDPOINT=f"http://127.0.0.1:{proxy.port}")
        nodes = [self.node(**sync).start(), self.node(**sync).start()]
        acked, failed, stop, lock = [], [], threading.Event(), threading.Lock()

        def write(n, lane):
            i = 0
            while not stop.is_set():
                i += 1
                s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": f"p{lane}-{i}"}})
                with lock:
                    (acked if s == 201 else failed).append(b["data"][0]["id"] if s == 201 else s)
                time.sleep(0.01)
        threads = [threading.Thread(target=write, args=(n, f"{k}{lane}"))
                   for k, n in enumerate(nodes) for lane in range(2)]
        for t in threads:
            t.start()
        try:
            time.sleep(PHASE)
            for mode in ("cut", "delay", "drop"):
                proxy.set(mode)
                time.sleep(PHASE)
            proxy.set("pass")
            hub.proc.send_signal(signal.SIGSTOP)
            time.sleep(PHASE)
            hub.proc.send_signal(signal.SIGCONT)
        finally:
            hub.proc.send_signal(signal.SIGCONT)
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failed, [], "local writes failed during the faults")
        self.assertGreater(len(acked), 20)
        healed = time.time()
        while time.time() - healed < 120:
            hs = [n.call("GET", "/health")[1] for n in [hub] + nodes]
            if len({h["merkle_hash"] for h in hs}) == 1 and all(h["pending"] == 0 for h in hs[1:]):
                break
            time.sleep(0.05)
        took = time.time() - healed
        print(f"\npartitions: {len(acked)} writes acknowledged during the faults; "
              f"converged {took:.1f} s after healing", file=sys.stderr)
        self.assertLess(took, HEAL_BOUND, hs)
        for n in [hub] + nodes:
            s, b, _ = n.call("GET", "/store/contacts?pluck=id&limit=1000000")
            missing = set(acked) - {r["id"] for r in b["data"]}
            self.assertFalse(missing, f"{len(missing)} acknowledged writes missing")

    def test_a_hub_that_syncs_upstream_forwards_what_its_nodes_send(self):
        """Node A syncs with M, which syncs with H (SPEC: "a hub that itself
        syncs upstream"). A's writes reach M as a hub; they must go on to H
        while M keeps taking local writes of its own (M stores them without
        queueing them: its repair carries them up, also in rounds that end
        with its own writes still queued), and everything comes back down."""
        top = self.node(JWT_SECRET=SECRET).start()
        sync = dict(JWT_SECRET=SECRET, SYNC_ENABLED="true", SYNC_TIMER_MS="100",
                    SYNC_BACKOFF_MAX_MS="500")
        mid = self.node(SYNC_ENDPOINT=f"http://127.0.0.1:{top.port}", **sync).start()
        leaf = self.node(SYNC_ENDPOINT=f"http://127.0.0.1:{mid.port}", **sync).start()
        stop = threading.Event()

        def busy(lane):
            i = 0
            while not stop.is_set():
                i += 1
                mid.call("POST", "/store/contacts", {"data": {"first_name": f"m{lane}-{i}"}})
        threads = [threading.Thread(target=busy, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(1)
        try:
            ids = [leaf.call("POST", "/store/contacts", {"data": {"first_name": f"a{i}"}})[1]
                   ["data"][0]["id"] for i in range(20)]
            deadline = time.time() + 20
            missing = set(ids)
            while missing and time.time() < deadline:
                missing = {i for i in missing
                           if top.call("GET", f"/store/contacts/{i}")[0] != 200}
                time.sleep(0.1)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertFalse(missing, f"{len(missing)} of A's 20 writes never reached H "
                                  "while M kept writing")
        # And back down: H's and M's writes reach A.
        deadline = time.time() + 20
        while time.time() < deadline:
            hs = [n.call("GET", "/health")[1] for n in (top, mid, leaf)]
            if len({h["merkle_hash"] for h in hs}) == 1 and all(h["pending"] == 0 for h in hs[1:]):
                break
            time.sleep(0.1)
        self.assertEqual(len({h["merkle_hash"] for h in hs}), 1, hs)


if __name__ == "__main__":
    unittest.main()
