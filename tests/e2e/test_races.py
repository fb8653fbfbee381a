"""Concurrent writers on the real binary: creates of one id from two organizations
and PATCHes racing DELETEs. Whether a write may apply is decided by the writer inside
the transaction that applies it, so no acknowledged write lands where it should not."""
import sqlite3
import threading
import unittest

from harness import NodeTestCase

ROUNDS = 40


def ulid(prefix, i):
    return f"{prefix}{i:06d}"


class RaceTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.n = self.node().start()
        # A second organization with its own admin.
        s, b, _ = self.n.call("POST", "/auth/organizations", {"data": {
            "name": "B", "admin_email": "b@example.org", "admin_password": "b's long password"}})
        self.assertEqual(s, 201, b)
        self.other = self.n.login("b@example.org", "b's long password")

    def race(self, *calls):
        """Runs the calls at once (each on its own connection); returns their answers."""
        out = [None] * len(calls)
        gate = threading.Barrier(len(calls))

        def run(i, fn):
            gate.wait()
            out[i] = fn()
        threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

    def log(self, sql, *args):
        with sqlite3.connect(f"file:{self.n.db}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()

    def test_two_organizations_creating_one_id(self):
        for i in range(ROUNDS):
            rid = ulid("01JAR2HPE7JJS1HYQZ7F", i)
            a, b = self.race(
                lambda: self.n.call("POST", "/store/contacts", {"data": {"id": rid, "first_name": "A"}}),
                lambda: self.n.call("POST", "/store/contacts", {"data": {"id": rid, "first_name": "B"}},
                                    token=self.other))
            self.assertEqual(sorted([a[0], b[0]]), [201, 409], (a, b))
            winner, token = ("A", None) if a[0] == 201 else ("B", self.other)
            s, body, _ = self.n.call("GET", f"/store/contacts/{rid}", token=token)
            self.assertEqual((s, body["data"][0]["first_name"]), (200, winner))
            # The other organization does not see it.
            loser = self.other if winner == "A" else None
            self.assertEqual(self.n.call("GET", f"/store/contacts/{rid}", token=loser)[0], 404)
            # One create's messages in the log, not two.
            self.assertEqual(self.log("SELECT count(*) FROM crdt_messages WHERE row_id = ? "
                                      "AND col = 'first_name'", rid), [(1,)])

    def test_a_patch_racing_a_delete(self):
        for i in range(ROUNDS):
            s, b, _ = self.n.call("POST", "/store/contacts", {"data": {"first_name": "v1"}})
            self.assertEqual(s, 201, b)
            rid = b["data"][0]["id"]
            patched, deleted = self.race(
                lambda: self.n.call("PATCH", f"/store/contacts/{rid}", {"data": {"first_name": "v2"}}),
                lambda: self.n.call("DELETE", f"/store/contacts/{rid}"))
            self.assertEqual(deleted[0], 200, deleted)
            names = self.log("SELECT ts FROM crdt_messages WHERE row_id = ? AND col = 'first_name' "
                             "ORDER BY ts", rid)
            gone = self.log("SELECT max(ts) FROM crdt_messages WHERE row_id = ? AND col = 'tombstone'",
                            rid)[0][0]
            if patched[0] == 200:
                # Acknowledged: it committed while the record was live.
                self.assertEqual(len(names), 2)
                self.assertLess(names[-1][0], gone)
            else:
                self.assertEqual(patched[0], 404, patched)
                self.assertEqual(len(names), 1)


if __name__ == "__main__":
    unittest.main()
