"""Faults the server must ride out without losing an acknowledged write: a full
disk (a size-limited tmpfs under the database), and the bounds it promises under
abuse. Tests that need root to mount say so when they skip."""
import os
import sqlite3
import subprocess
import tempfile
import threading
import unittest

from harness import NodeTestCase


def mount_tmpfs(size):
    """A fresh tmpfs of `size` (e.g. "4m"); returns its path, or None when this
    process may not mount (not root, or no mount namespace rights)."""
    path = tempfile.mkdtemp(prefix="crdt-tmpfs-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode != 0:
        os.rmdir(path)
        return None
    return path


def unmount(path):
    subprocess.run(["umount", "-l", path], check=False)
    os.rmdir(path)


class FullDiskTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.mount = mount_tmpfs("6m")
        if self.mount is None:
            self.skipTest("SKIPPED LOUDLY: cannot mount a tmpfs here (needs root); "
                          "the full-disk test did not run")

    def tearDown(self):
        super().tearDown()
        unmount(self.mount)

    def test_a_full_disk_answers_507_loses_nothing_and_recovers_without_restart(self):
        n = self.node(workdir=os.path.join(self.mount, "node"))
        os.makedirs(n.dir, exist_ok=True)
        n.start()
        # A filler the test deletes later to free space, as an operator would.
        filler = os.path.join(self.mount, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * (2 << 20))
        acknowledged, refusals, i = [], [], 0
        while len(refusals) < 5:
            i += 1
            self.assertLess(i, 5000, "the disk never filled up")
            s, b, h = n.call("POST", "/store/contacts",
                             {"data": {"first_name": f"n{i}", "last_name": "x" * 2000}})
            if s == 201:
                acknowledged.append(b["data"][0]["id"])
            else:
                self.assertEqual(s, 507, b)
                self.assertIn("disk", b["message"])
                self.assertNotIn("COMMIT", b["message"])
                self.assertEqual(h.get("Retry-After"), "10")
                refusals.append(i)
        self.assertGreater(len(acknowledged), 10)
        s, health, _ = n.call("GET", "/health")
        self.assertEqual(s, 200)
        self.assertEqual(health["status"], "degraded")
        self.assertTrue(health["storage"]["disk_full"], health)
        self.assertGreaterEqual(health["storage"]["writes_refused"], 5)
        # Reads keep working while the disk is full.
        for rid in acknowledged[-3:]:
            self.assertEqual(n.call("GET", f"/store/contacts/{rid}")[0], 200)
        # Freeing space: writes succeed again, without a restart.
        os.remove(filler)
        s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": "after"}})
        self.assertEqual(s, 201, b)
        acknowledged.append(b["data"][0]["id"])
        s, health, _ = n.call("GET", "/health")
        self.assertEqual((health["status"], health["storage"]), ("ok", {"disk_full": False}))
        # The episode was logged once when it began and once when it ended.
        out = n.output()
        self.assertEqual(out.count("the disk is full"), 1, out)
        self.assertEqual(out.count("writes succeed again"), 1, out)
        # Every acknowledged write survives a restart, and the database is sound.
        n.stop()
        n.start()
        s, b, _ = n.call("GET", "/store/contacts?pluck=id&limit=100000")
        self.assertEqual(s, 200)
        self.assertTrue(set(acknowledged) <= {r["id"] for r in b["data"]})
        n.stop()
        with sqlite3.connect(n.db) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])


class OverloadTest(NodeTestCase):
    def test_writes_beyond_the_queue_limit_get_503_with_retry_after(self):
        n = self.node(WRITE_QUEUE_LIMIT=1, SQLITE_SYNCHRONOUS="FULL").start()
        answers, lock = [], threading.Lock()

        def write(i):
            s, b, h = n.call("POST", "/store/contacts", {"data": {"first_name": f"w{i}"}})
            with lock:
                answers.append((s, h.get("Retry-After"), b))
        threads = [threading.Thread(target=write, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(a[0] for a in answers)
        self.assertIn(503, statuses, statuses)
        self.assertTrue(set(statuses) <= {201, 503}, statuses)
        for s, retry, b in answers:
            if s == 503:
                self.assertEqual(retry, "1")
                self.assertFalse(b["success"])
        # What was refused is not there; what was acknowledged is.
        names = {r["first_name"] for r in n.call("GET", "/store/contacts?pluck=first_name&limit=1000")[1]["data"]}
        self.assertEqual(len(names), statuses.count(201))


if __name__ == "__main__":
    unittest.main()
