"""Crash loop: a node taking writes from several clients and syncing every 50 ms
is killed with SIGKILL at random moments (so often in the middle of a commit or
of a sync round), and so is the hub it syncs with. After every kill:
`crdt-store --check` (SQLite's integrity check, and the merkle trie against one
rebuilt from the message log) passes and every write that was acknowledged is
there. At the end all nodes converge.

CRASH_ROUNDS (default 6) kills, CRASH_MAX_S (default 1.5) the longest pause
between them; scripts/faults.sh runs the long version (60 kills, up to 3 s)."""
import os
import random
import signal
import sqlite3
import sys
import threading
import time
import unittest

from harness import NodeTestCase

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "6"))
MAX_PAUSE = float(os.environ.get("CRASH_MAX_S", "1.5"))
SECRET = "crash-loop-jwt-secret-0123456789abcdef"


class Writers:
    """Client threads that create records and log each acknowledged one."""

    def __init__(self, node, count=4):
        self.node, self.acked, self.lock = node, [], threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(count)]
        for t in self.threads:
            t.start()

    def run(self, lane):
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                s, b, _ = self.node.call("POST", "/store/contacts",
                                         {"data": {"first_name": f"w{lane}-{i}", "last_name": "crash"}})
            except OSError:
                time.sleep(0.05)  # the node is down: retry later (that write was never acknowledged)
                continue
            if s == 201:
                with self.lock:
                    self.acked.append(b["data"][0]["id"])

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()
        return list(self.acked)


def ids_on(node):
    s, b, _ = node.call("GET", "/store/contacts?pluck=id&limit=1000000")
    assert s == 200, (s, b)
    return {r["id"] for r in b["data"]}


class CrashLoopTest(NodeTestCase):
    def check(self, node):
        code, out = node.run(["--check"])
        self.assertEqual(code, 0, out)
        self.assertIn("matches its log", out)

    def restart(self, node):
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait()
        node.proc = None
        self.check(node)
        node.start()

    def test_kill_9_in_a_loop_loses_no_acknowledged_write(self):
        rng = random.Random(int(os.environ.get("CRASH_SEED", time.time())))
        hub = self.node(JWT_SECRET=SECRET).start()
        sync = dict(JWT_SECRET=SECRET, SYNC_ENABLED="true", SYNC_TIMER_MS="50",
                    SYNC_BACKOFF_MAX_MS="200", SYNC_ENDPOINT=f"http://127.0.0.1:{hub.port}",
                    SQLITE_SYNCHRONOUS="NORMAL")
        a = self.node(**sync).start()
        b = self.node(**sync).start()
        writers = [Writers(a), Writers(b, count=2)]
        for round_ in range(ROUNDS):
            time.sleep(rng.uniform(0.1, MAX_PAUSE))
            # Mostly the writing node; every third kill takes the hub while
            # both nodes push to it.
            victim = hub if round_ % 3 == 2 else a
            self.restart(victim)
            if victim is a:
                with writers[0].lock:
                    acked = list(writers[0].acked)
                missing = set(acked) - ids_on(a)
                self.assertFalse(missing, f"kill {round_ + 1}: {len(missing)} acknowledged writes lost")
        acked = writers[0].finish() + writers[1].finish()
        self.assertGreater(len(acked), 50)
        # Convergence: every node holds every acknowledged write, same roots.
        healed = time.time()
        deadline = time.time() + 60
        while time.time() < deadline:
            hs = [n.call("GET", "/health")[1] for n in (hub, a, b)]
            if len({h["merkle_hash"] for h in hs}) == 1 and hs[1]["pending"] == hs[2]["pending"] == 0:
                break
            time.sleep(0.1)
        self.assertEqual(len({h["merkle_hash"] for h in hs}), 1, hs)
        print(f"\ncrash loop: {ROUNDS} kills, {len(acked)} acknowledged writes, none lost; "
              f"converged {time.time() - healed:.1f} s after the last", file=sys.stderr)
        for n in (hub, a, b):
            missing = set(acked) - ids_on(n)
            self.assertFalse(missing, f"{len(missing)} acknowledged writes missing on a node")
        for n in (hub, a, b):
            n.stop()
            self.check(n)

    def test_check_refuses_a_database_a_node_is_using(self):
        """--check migrates and lays out tables as it opens: on a running
        node's database it would write behind that node's writer. Before,
        it did so without a word."""
        n = self.node().start()
        self.assertEqual(n.call("POST", "/store/contacts", {"data": {"first_name": "live"}})[0], 201)
        code, out = n.run(["--check"])
        self.assertNotEqual(code, 0, out)
        self.assertIn("stop it first", out)
        n.stop()
        self.check(n)

    def test_check_finds_a_trie_that_differs_from_its_log(self):
        n = self.node().start()
        for i in range(5):
            self.assertEqual(n.call("POST", "/store/contacts", {"data": {"first_name": f"c{i}"}})[0], 201)
        n.stop()
        self.check(n)
        with sqlite3.connect(n.db) as db:
            db.execute("UPDATE crdt_merkle SET hash = hash + 1 WHERE length(key) = 3")
        code, out = n.run(["--check"])
        self.assertNotEqual(code, 0, out)
        self.assertIn("differs from its log", out)
        # A relayed group's trie whose log is gone.
        with sqlite3.connect(n.db) as db:
            db.execute("UPDATE crdt_merkle SET hash = hash - 1 WHERE length(key) = 3")
            db.execute("INSERT INTO crdt_hub_merkle VALUES ('ghost', '', 5)")
        code, out = n.run(["--check"])
        self.assertNotEqual(code, 0, out)
        self.assertIn("group ghost", out)
        # No database at all is an error, not an empty one created.
        n.env["DB_SQLITE_FILE"] = n.db + ".missing"
        code, out = n.run(["--check"])
        self.assertNotEqual(code, 0, out)
        self.assertFalse(os.path.exists(n.db + ".missing"))


if __name__ == "__main__":
    unittest.main()
