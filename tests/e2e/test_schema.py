"""Schema replication with real processes: a table defined at runtime on one node
is served by nodes that have no file for it, including one that joins later;
data that arrives before its table is applied when the table does; a changed
type is refused locally (409) and at start-up; two nodes that define one field
differently while cut off from each other settle on the same definition."""
import os
import shutil
import time
import unittest

from harness import NodeTestCase, wait_for
from proxy import Proxy

SECRET = "schema-e2e-jwt-secret-0123456789abcdef"
DEVICES = {"type": "object",
           "properties": {"serial": {"type": "string", "x-index": True},
                          "temp": {"type": ["number", "null"]}},
           "required": ["serial"]}


class SchemaReplicationTest(NodeTestCase):
    def sync_env(self, hub_port):
        return dict(JWT_SECRET=SECRET, SYNC_ENABLED="true", SYNC_TIMER_MS="100",
                    SYNC_BACKOFF_MAX_MS="500", SYNC_ENDPOINT=f"http://127.0.0.1:{hub_port}")

    def empty_schema_dir(self):
        d = os.path.join(self.nodes[0].dir, f"empty-schema-{len(self.nodes)}")
        os.makedirs(d)
        return d

    def test_a_runtime_table_reaches_every_node_and_a_late_joiner(self):
        hub = self.node(JWT_SECRET=SECRET).start()
        a = self.node(**self.sync_env(hub.port)).start()
        b = self.node(**self.sync_env(hub.port)).start()
        self.assertEqual(b.call("GET", "/store/devices")[0], 404)
        # Only the node's operators define tables.
        member = a.call("POST", "/auth/accounts", {"data": {"email": "m@example.com",
                                                             "password": "member-password-1"}})
        self.assertEqual(member[0], 201, member[1])
        mtoken = a.login("m@example.com", "member-password-1")
        self.assertEqual(a.call("POST", "/schema/devices", DEVICES, token=mtoken)[0], 403)
        # Bad definitions: 400, nothing defined.
        for bad in [{"properties": {"x": {"type": "date"}}}, {"properties": {"id": {"type": "string"}}},
                    {"properties": {}, "minProperties": 1},
                    {"properties": {"x": {"type": "string", "pattern": "((a{60000}){60000})"}}},
                    {"properties": {"x": {"type": "string", "enum": ["v" * 100] * 200}}}]:
            s, body, _ = a.call("POST", "/schema/devices", bad)
            self.assertEqual(s, 400, body)
        self.assertEqual(a.call("POST", "/schema/crdt_x", DEVICES)[0], 400)
        self.assertEqual(a.call("GET", "/schema/devices")[0], 404)
        s, body, _ = a.call("POST", "/schema/devices", DEVICES)
        self.assertEqual(s, 201, body)
        self.assertEqual(body["data"][0]["schema"]["properties"]["serial"]["type"], "string")
        # Served at once on A; the same body again is a no-op.
        s, body, _ = a.call("POST", "/store/devices", {"data": {"serial": "A-1", "temp": 21.5}})
        self.assertEqual(s, 201, body)
        rid = body["data"][0]["id"]
        # Read now: the reading connection's plan for the table is made
        # before the field added below (sequential calls reuse one).
        for _ in range(8):
            self.assertEqual(a.call("GET", f"/store/devices/{rid}")[0], 200)
        self.assertEqual(a.call("POST", "/schema/devices", DEVICES)[0], 200)
        # B has no file for it and learns table and record from the group.
        got = wait_for("the record on B", lambda: (lambda r: r[0] == 200 and r[1]["data"])(
            b.call("GET", f"/store/devices/{rid}")))
        self.assertEqual(got[0]["serial"], "A-1")
        self.assertEqual(got[0]["temp"], 21.5)
        self.assertEqual(b.call("GET", "/schema/devices")[1]["data"][0]["schema"],
                         a.call("GET", "/schema/devices")[1]["data"][0]["schema"])
        # B validates with the learned definition, and writes back.
        self.assertEqual(b.call("POST", "/store/devices", {"data": {"temp": 3}})[0], 400)
        s, body, _ = b.call("PATCH", f"/store/devices/{rid}", {"data": {"temp": 19.0}})
        self.assertEqual(s, 200, body)
        # A field added at runtime on B reaches A.
        s, body, _ = b.call("POST", "/schema/devices", {"properties": {"site": {"type": "string"}}})
        self.assertEqual(s, 200, body)
        self.assertEqual(b.call("PATCH", f"/store/devices/{rid}", {"data": {"site": "north"}})[0], 200)
        wait_for("the new field on A", lambda: (lambda r: r[0] == 200 and r[1]["data"][0].get("site") == "north"
                                                and r[1]["data"][0]["temp"] == 19.0)(
            a.call("GET", f"/store/devices/{rid}")))
        # A node that joins later, with no schema files at all.
        c = self.node(schema_dir=self.empty_schema_dir(), **self.sync_env(hub.port)).start()
        got = wait_for("the record on the late node", lambda: (lambda r: r[0] == 200 and r[1]["data"])(
            c.call("GET", f"/store/devices/{rid}")))
        self.assertEqual((got[0]["serial"], got[0]["site"], got[0]["temp"]), ("A-1", "north", 19.0))
        names = {t["table"] for t in c.call("GET", "/schema")[1]["data"]}
        self.assertTrue({"devices", "contacts", "config_application"} <= names, names)
        # Types are immutable: locally 409 naming the field and both types.
        s, body, _ = c.call("POST", "/schema/devices", {"properties": {"temp": {"type": "string"}}})
        self.assertEqual(s, 409, body)
        for word in ("'temp'", "number", "string"):
            self.assertIn(word, body["message"])
        # And from a schema file at start-up.
        a.stop()
        with open(os.path.join(a.schema, "devices.json"), "w") as f:
            f.write('{"properties": {"serial": {"type": "integer"}}}')
        code, out = a.run()
        self.assertNotEqual(code, 0)
        for word in ("'serial'", "string", "integer"):
            self.assertIn(word, out)

    def test_data_that_arrives_before_its_table(self):
        n = self.node().start()
        org = n.organization_id
        group = n.call("GET", "/health")[1]["group_id"]
        node_id = "0123456789abcdef"
        now = int(time.time() * 1000)

        def ts(i):
            t = time.gmtime(now // 1000)
            return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{now % 1000:03d}Z-{i:04X}-{node_id}"
        row = "01JAR2HPE7JJS1HYQZ7FYK0S4D"
        data = [{"timestamp": ts(10 + k), "dataset": "gadgets", "row": row, "column": col, "value": v}
                for k, (col, v) in enumerate([("organization_id", org), ("created_by", "x"),
                                              ("created_at", "2026-01-01T00:00:00.000Z"),
                                              ("updated_at", "2026-01-01T00:00:00.000Z"),
                                              ("name", "widget"), ("size", 3)])]
        defs = [{"timestamp": ts(1), "dataset": "crdt_schema", "row": "gadgets", "column": "_table", "value": "{}"},
                {"timestamp": ts(2), "dataset": "crdt_schema", "row": "gadgets", "column": "name",
                 "value": '{"required":false,"schema":{"type":"string"}}'},
                {"timestamp": ts(3), "dataset": "crdt_schema", "row": "gadgets", "column": "size",
                 "value": '{"required":false,"schema":{"type":"integer"}}'}]

        def sync(msgs):
            s, body, _ = n.call("POST", "/sync", {"group_id": group,
                                                  "client_id": node_id, "messages": msgs, "merkle": {}},
                                auth=False)
            self.assertEqual(s, 200, body)
        sync(data)
        self.assertEqual(n.call("GET", "/store/gadgets")[0], 404)
        # A malformed definition (newer than the good one of its field) is
        # stored and ignored, never refused: refusing it would stop the sync
        # of every node that holds it (see check_batch).
        bad = dict(defs[1], timestamp=ts(4), value='{"required":false,"schema":{"type":"date"}}')
        sync([bad])
        sync(defs)
        s, body, _ = n.call("GET", f"/store/gadgets/{row}")
        self.assertEqual(s, 200, body)
        self.assertEqual((body["data"][0]["name"], body["data"][0]["size"]), ("widget", 3))

    def test_concurrent_definitions_of_one_field_settle_alike_everywhere(self):
        hub = self.node(JWT_SECRET=SECRET).start()
        proxy = Proxy(hub.port)
        self.addCleanup(proxy.shutdown)
        proxy.set("cut")
        a = self.node(**self.sync_env(proxy.port)).start()
        b = self.node(**self.sync_env(proxy.port)).start()
        s, body, _ = b.call("POST", "/schema/gauges", {"properties": {"level": {"type": "string"}}})
        self.assertEqual(s, 201, body)
        time.sleep(0.01)
        s, body, _ = a.call("POST", "/schema/gauges", {"properties": {"level": {"type": "integer"}}})
        self.assertEqual(s, 201, body)
        ra = a.call("POST", "/store/gauges", {"data": {"level": 7}})[1]["data"][0]["id"]
        rb = b.call("POST", "/store/gauges", {"data": {"level": "high"}})[1]["data"][0]["id"]
        proxy.set("pass")

        def settled():
            hs = [n.call("GET", "/health")[1] for n in (hub, a, b)]
            same = len({h["merkle_hash"] for h in hs}) == 1 and all(h["pending"] == 0 for h in hs[1:])
            return same and all(h["schema"]["conflicts"] for h in hs) and hs
        hs = wait_for("convergence", settled)
        conflicts = [h["schema"]["conflicts"] for h in hs]
        self.assertEqual(conflicts[0], conflicts[1])
        self.assertEqual(conflicts[0], conflicts[2])
        c = conflicts[0][0]
        # B defined it first: its string wins on every node.
        self.assertEqual((c["table"], c["field"], c["winner"]["type"], c["loser"]["type"]),
                         ("gauges", "level", "string", "integer"))
        self.assertIn("conflicting definitions of gauges.level", a.output())
        for n in (hub, a, b):
            self.assertEqual(n.call("GET", "/schema/gauges")[1]["data"][0]["schema"]["properties"]["level"],
                             {"type": "string"})
            rows = {r["id"]: r["level"] for r in n.call("GET", "/store/gauges")[1]["data"]}
            # A's integer takes no part; B's string stands.
            self.assertEqual(rows.get(rb), "high")
            self.assertIsNone(rows.get(ra))


if __name__ == "__main__":
    unittest.main()
