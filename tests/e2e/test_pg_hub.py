"""The hub on PostgreSQL (HUB_DATABASE_URL): several stateless hub processes
over one database serve the same groups.

- Randomized convergence: 3 nodes write, update and delete at random and sync
  through tests/e2e/balancer.py, which sends each call to one of 2 hub
  processes at random and throws away a share of the answers. After the
  writes stop, every node holds the same table and the same merkle root, and
  that root is the group's root in PostgreSQL. PG_HUB_SEEDS seeds (default 2;
  scripts/pg-hub-long.sh runs more).
- Faults: while nodes keep writing, one hub process is killed with SIGKILL and
  started again, and PostgreSQL is restarted; every acknowledged write reaches
  every node afterwards, and the roots agree.
- A database that is down: the hub answers /sync of relayed groups 503 with
  Retry-After (a hub even starts without it), and serves again by itself once
  the database is back, without a restart.

Each test starts its own PostgreSQL (tests/e2e/pg_server.py)."""
import json
import os
import random
import signal
import sys
import threading
import time
import unittest
import urllib.request

from balancer import Balancer
from harness import NodeTestCase, wait_for
from pg_server import PgServer

SEEDS = int(os.environ.get("PG_HUB_SEEDS", "2"))
SECRET = "pg-hub-jwt-secret-0123456789abcdef"
GROUP = "fleet"


def post_sync(port, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/sync", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class PgHubTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.pg = PgServer().start()
        self.addCleanup(self.pg.stop)

    def hubs(self, n=2):
        return [self.node(HUB_DATABASE_URL=self.pg.url, GROUP_ID=f"hub-{i}", JWT_SECRET=SECRET).start()
                for i in range(n)]

    def sync_nodes(self, port, n):
        sync = dict(JWT_SECRET=SECRET, GROUP_ID=GROUP, SYNC_ENABLED="true", SYNC_TIMER_MS="100",
                    SYNC_BACKOFF_MAX_MS="400", SYNC_ENDPOINT=f"http://127.0.0.1:{port}")
        return [self.node(**sync).start() for _ in range(n)]

    def group_root(self):
        out = self.pg.psql(f"SELECT hash FROM crdt_hub_trie WHERE group_id = '{GROUP}' AND key = ''")
        return int(out) if out else 0

    def converge(self, nodes, bound=90):
        started, hs = time.time(), []
        while time.time() - started < bound:
            hs = [n.call("GET", "/health")[1] for n in nodes]
            roots = {h["merkle_hash"] for h in hs}
            if len(roots) == 1 and all(h["pending"] == 0 for h in hs) and roots == {self.group_root()}:
                return time.time() - started
            time.sleep(0.1)
        self.fail(f"no convergence in {bound} s: {[(h['merkle_hash'], h['pending']) for h in hs]}, "
                  f"group root {self.group_root()}")

    def table(self, n):
        s, b, _ = n.call("GET", "/store/contacts?limit=1000000&order=id")
        self.assertEqual(s, 200, b)
        return sorted(b["data"], key=lambda r: r["id"])

    def test_randomized_convergence_through_two_hub_processes(self):
        hubs = self.hubs(2)
        for seed in range(1, SEEDS + 1):
            with self.subTest(seed=seed):
                self.run_seed(seed, hubs)

    def run_seed(self, seed, hubs):
        rng = random.Random(seed)
        bal = Balancer([h.port for h in hubs], drop=0.2, seed=seed)
        self.addCleanup(bal.shutdown)
        nodes = self.sync_nodes(bal.port, 3)
        ids, acked = [], 0
        for step in range(150):
            n = rng.choice(nodes)
            op = rng.random()
            if op < 0.5 or not ids:
                s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": f"s{seed}-{step}"}})
                if s == 201:
                    ids.append(b["data"][0]["id"])
                    acked += 1
            elif op < 0.9:
                rid = rng.choice(ids)
                s, _, _ = n.call("PATCH", f"/store/contacts/{rid}",
                                 {"data": {"last_name": f"u{seed}-{step}", "middle_name": str(rng.random())}})
                acked += s == 200
            else:
                rid = rng.choice(ids)
                s, _, _ = n.call("DELETE", f"/store/contacts/{rid}")
                acked += s == 200
            if rng.random() < 0.1:
                time.sleep(rng.random() * 0.3)  # let some rounds happen in between
        bal.drop = 0.0
        took = self.converge(nodes)
        tables = [self.table(n) for n in nodes]
        self.assertEqual(tables[0], tables[1])
        self.assertEqual(tables[0], tables[2])
        self.assertGreater(len(tables[0]), 10)
        print(f"\npg hub seed {seed}: {acked} writes acknowledged; {bal.counts}; converged {took:.1f} s "
              f"after the last write", file=sys.stderr)
        for n in nodes:
            n.cleanup()

    def test_hub_killed_and_database_restarted_mid_load(self):
        hubs = self.hubs(2)
        bal = Balancer([h.port for h in hubs], seed=7)
        self.addCleanup(bal.shutdown)
        nodes = self.sync_nodes(bal.port, 2)
        acked, failed, stop, lock = [], [], threading.Event(), threading.Lock()

        def write(n, lane):
            i = 0
            while not stop.is_set():
                i += 1
                s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": f"k{lane}-{i}"}})
                with lock:
                    (acked if s == 201 else failed).append(b["data"][0]["id"] if s == 201 else s)
                time.sleep(0.005)
        threads = [threading.Thread(target=write, args=(n, k)) for k, n in enumerate(nodes)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.5)
            # A hub process dies mid-round; the balancer keeps sending it calls
            # for a moment (they fail), then it comes back.
            hubs[0].proc.send_signal(signal.SIGKILL)
            hubs[0].proc.wait()
            time.sleep(1)
            hubs[0].start()
            time.sleep(1.5)
            self.pg.restart()
            time.sleep(1.5)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failed, [], "local writes failed")
        self.assertGreater(len(acked), 50)
        took = self.converge(nodes)
        for n in nodes:
            have = {r["id"] for r in self.table(n)}
            missing = set(acked) - have
            self.assertFalse(missing, f"{len(missing)} acknowledged writes missing")
        stored = int(self.pg.psql(f"SELECT messages FROM crdt_hub_groups WHERE group_id = '{GROUP}'"))
        count = int(self.pg.psql(f"SELECT count(*) FROM crdt_hub_messages WHERE group_id = '{GROUP}'"))
        self.assertEqual(stored, count, "the group's message count disagrees with its log")
        print(f"\npg hub faults: {len(acked)} writes acknowledged; {bal.counts}; converged {took:.1f} s "
              f"after the faults", file=sys.stderr)

    def test_database_down_gives_503_and_recovers_by_itself(self):
        hub, = self.hubs(1)
        body = {"group_id": "probe", "client_id": "0123456789abcdef", "messages": [], "merkle": {}}
        s, _, b = post_sync(hub.port, body)
        self.assertEqual(s, 200, b)
        self.pg.stop_server()
        s, headers, b = post_sync(hub.port, body)
        self.assertEqual(s, 503, b)
        self.assertEqual(headers.get("Retry-After"), "1")
        self.assertIn("hub database", json.loads(b)["reason"])
        h = hub.call("GET", "/health", auth=False)[1]
        self.assertEqual(h["status"], "degraded")
        self.assertFalse(h["hub_databases"][0]["ok"])
        self.assertEqual(h["hub_databases"][0]["database"], self.pg.url)
        self.assertIn("hub database", h["hub_databases"][0]["error"])
        # A hub process starting while the database is down starts anyway.
        late = self.node(HUB_DATABASE_URL=self.pg.url, GROUP_ID="hub-late").start()
        self.assertIn("cannot be reached yet", late.output())
        s, _, _ = post_sync(late.port, body)
        self.assertEqual(s, 503)
        self.pg.start()
        for h in (hub, late):
            s, _, b = post_sync(h.port, body)
            self.assertEqual(s, 200, b)
            health = h.call("GET", "/health", auth=False)[1]
            self.assertEqual(health["status"], "ok")
            self.assertEqual(health["hub_databases"], [{"database": self.pg.url, "ok": True}])
        # The local API never depended on the database.
        self.assertEqual(hub.call("POST", "/store/contacts", {"data": {"first_name": "x"}})[0], 201)

    def test_bad_database_url_stops_the_start(self):
        n = self.node(HUB_DATABASE_URL="postgresql://u:sekret@127.0.0.1:5432/db?nosuchkey=1",
                      GROUP_ID="hub-x")
        with self.assertRaises(RuntimeError) as e:
            n.start()
        self.assertIn("HUB_DATABASE_URL", str(e.exception))
        self.assertIn("u:***@127.0.0.1", n.output())
        self.assertNotIn("sekret", n.output())

    def test_a_hub_process_needs_a_group_of_its_own(self):
        # Left at the default group, which nodes use too, each process would
        # serve that group from its own SQLite file.
        for group in (None, "my_group"):  # unset, or the default given explicitly
            n = self.node(HUB_DATABASE_URL=self.pg.url, GROUP_ID=group)
            with self.assertRaises(RuntimeError):
                n.start()
            self.assertIn("GROUP_ID", n.output())

    def test_groups_spread_over_two_databases(self):
        # murmur3 places "shop" in the first database of two and "fleet" in
        # the second (pinned in tests/storage/pg_urls.cpp).
        other = PgServer().start()
        self.addCleanup(other.stop)
        urls = f"{self.pg.url} {other.url}"
        hubs = [self.node(HUB_DATABASE_URL=urls, GROUP_ID=f"hub-{i}", JWT_SECRET=SECRET).start()
                for i in range(2)]
        bal = Balancer([h.port for h in hubs], seed=3)
        self.addCleanup(bal.shutdown)
        nodes = {}
        for group in ("shop", "fleet"):
            sync = dict(JWT_SECRET=SECRET, GROUP_ID=group, SYNC_ENABLED="true", SYNC_TIMER_MS="100",
                        SYNC_ENDPOINT=f"http://127.0.0.1:{bal.port}")
            nodes[group] = [self.node(**sync).start() for _ in range(2)]
            s, _, _ = nodes[group][0].call("POST", "/store/contacts", {"data": {"first_name": group}})
            self.assertEqual(s, 201)
        for group, (a, b) in nodes.items():
            wait_for(f"{group} converged", lambda: self.table(b) == self.table(a) and len(self.table(b)) == 1)
        count = "SELECT count(*) FROM crdt_hub_messages WHERE group_id = '{}'"
        self.assertGreater(int(self.pg.psql(count.format("shop"))), 0)
        self.assertEqual(int(self.pg.psql(count.format("fleet"))), 0)
        self.assertGreater(int(other.psql(count.format("fleet"))), 0)
        self.assertEqual(int(other.psql(count.format("shop"))), 0)

    def test_processes_must_list_the_databases_alike(self):
        other = PgServer().start()
        self.addCleanup(other.stop)
        self.node(HUB_DATABASE_URL=f"{self.pg.url} {other.url}", GROUP_ID="hub-1").start()
        swapped = self.node(HUB_DATABASE_URL=f"{other.url} {self.pg.url}", GROUP_ID="hub-2")
        with self.assertRaises(RuntimeError):
            swapped.start()
        self.assertIn("number 2 of 2", swapped.output())


if __name__ == "__main__":
    unittest.main()
