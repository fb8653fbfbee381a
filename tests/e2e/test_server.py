"""End-to-end tests of the crdt-store binary on 127.0.0.1."""
import json
import os
import random
import re
import signal
import socket
import sqlite3
import time
import unittest

from harness import NodeTestCase


def rows(db, table):
    con = sqlite3.connect(db)
    try:
        return con.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()
    finally:
        con.close()


class ServerTest(NodeTestCase):

    def test_rebuild_from_the_log_equals_the_live_tables(self):
        n = self.node().start()
        rng = random.Random(7)
        ids = []
        for i in range(300):
            op = rng.random()
            if op < 0.5 or not ids:
                s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": f"f{i}", "last_name": "x"}})
                self.assertEqual(s, 201)
                ids.append(b["data"][0]["id"])
                n.call("POST", "/store/config_application", {"data": {"key": f"k{i}", "value": None}})
            elif op < 0.85:
                s, _, _ = n.call("PATCH", f"/store/contacts/{rng.choice(ids)}", {"data": {"middle_name": f"m{i}"}})
                self.assertIn(s, (200, 404))
            else:
                s, _, _ = n.call("DELETE", f"/store/contacts/{rng.choice(ids)}")
                self.assertIn(s, (200, 404))
        n.stop()
        copy = os.path.join(n.dir, "copy.sqlite")
        # The backup API copies the database together with its WAL.
        src, dst = sqlite3.connect(n.db), sqlite3.connect(copy)
        src.backup(dst)
        src.close()
        dst.close()
        con = sqlite3.connect(copy)
        con.execute("DELETE FROM contacts")
        con.execute("UPDATE config_application SET value = 'garbage'")
        con.commit()
        con.close()
        n.env["DB_SQLITE_FILE"] = copy
        code, out = n.run(["--rebuild"])
        self.assertEqual(code, 0, out)
        for table in ("contacts", "config_application"):
            live = rows(n.db, table)
            self.assertTrue(live)
            self.assertEqual(rows(copy, table), live, table)

    def test_two_processes_never_share_a_database(self):
        first = self.node().start()
        second = self.node(DB_SQLITE_FILE=first.db)
        with self.assertRaises(RuntimeError):
            second.start()
        self.assertIn("another crdt-store process uses", second.output())
        code, out = second.run(["--rebuild"])
        self.assertNotEqual(code, 0, out)
        # Killed, the first one leaves no lock behind.
        first.stop(signal.SIGKILL)
        second.start()
        self.assertEqual(second.call("GET", "/health")[0], 200)

    def test_schema_evolution_across_restarts(self):
        n = self.node().start()
        s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": "Old"}})
        self.assertEqual(s, 201)
        old = b["data"][0]["id"]
        n.stop()
        path = os.path.join(n.schema, "contacts.json")
        with open(path) as f:
            schema = json.load(f)
        schema["properties"]["nickname"] = {"type": "string"}
        with open(path, "w") as f:
            json.dump(schema, f)
        n.start()
        s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": "New", "nickname": "nn"}})
        self.assertEqual(s, 201, b)
        self.assertEqual(b["data"][0]["nickname"], "nn")
        s, b, _ = n.call("GET", f"/store/contacts/{old}")
        self.assertEqual(s, 200)
        self.assertIsNone(b["data"][0]["nickname"])
        n.stop()
        schema["properties"]["nickname"] = {"type": "integer"}
        with open(path, "w") as f:
            json.dump(schema, f)
        code, out = n.run([], timeout=10)
        self.assertNotEqual(code, 0)
        self.assertIn("contacts", out)
        self.assertIn("nickname", out)

    def test_http_details(self):
        n = self.node(BODY_LIMIT="1000").start()
        s, b, h = n.call("PUT", "/store/contacts")
        self.assertEqual(s, 405)
        self.assertIn("POST", h.get("Allow", ""))
        self.assertIs(b["success"], False)
        s, b, h = n.call("GET", "/nowhere")
        self.assertEqual(s, 404)
        self.assertEqual(h.get("Content-Type"), "application/json")
        s, b, _ = n.call("POST", "/store/contacts", raw=json.dumps({"data": {"first_name": "x" * 2000}}))
        self.assertEqual(s, 413)
        # A client id is used; a bad one is 400, a taken one 409.
        cid = "01JAR2HPE7JJS1HYQZ7FYK0S4D"
        s, b, _ = n.call("POST", "/store/contacts", {"data": {"id": cid, "first_name": "a"}})
        self.assertEqual((s, b["data"][0]["id"]), (201, cid))
        self.assertEqual(n.call("POST", "/store/contacts", {"data": {"id": cid, "first_name": "a"}})[0], 409)
        self.assertEqual(n.call("POST", "/store/contacts", {"data": {"id": "nope", "first_name": "a"}})[0], 400)
        self.assertEqual(n.call("PATCH", f"/store/contacts/{cid}", {"data": {}})[0], 400)

    def test_keep_alive_and_pipelining(self):
        n = self.node().start()
        with socket.create_connection(("127.0.0.1", n.port), timeout=10) as c:
            auth = f"Authorization: Bearer {n.token}\r\n".encode()
            req = (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                   b"GET /store/contacts/01JAR2HPE7JJS1HYQZ7FYK0S4D HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n"
                   b"GET /store/nope HTTP/1.1\r\nHost: x\r\n" + auth + b"Connection: close\r\n\r\n")
            c.sendall(req)
            data = b""
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
        statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", data)
        self.assertEqual(statuses, [b"200", b"404", b"404"])

    def test_restart_keeps_records_node_id_and_trie(self):
        n = self.node().start()
        ids = [n.call("POST", "/store/contacts", {"data": {"first_name": f"r{i}"}})[1]["data"][0]["id"]
               for i in range(20)]
        before = n.call("GET", "/health")[1]
        n.stop(signal.SIGKILL)
        n.start()  # same port, right after a crash
        after = n.call("GET", "/health")[1]
        self.assertEqual(before["node_id"], after["node_id"])
        self.assertEqual(before["merkle_hash"], after["merkle_hash"])
        self.assertNotEqual(after["merkle_hash"], 0)
        self.assertEqual(after["pending"], before["pending"])
        for i in ids:
            self.assertEqual(n.call("GET", f"/store/contacts/{i}")[0], 200)

    def test_configuration_sources(self):
        n = self.node()
        with open(os.path.join(n.dir, ".env"), "w") as f:
            f.write("# comment\nDATABASE=FromDotenv\nGROUP_ID='dotenv-group'\n")
        n.start()
        h = n.call("GET", "/health")[1]
        self.assertEqual((h["database"], h["group_id"]), ("FromDotenv", "dotenv-group"))
        n.stop()
        n.env["DATABASE"] = "FromEnv"
        n.start(["--group-id=from-flag"])
        h = n.call("GET", "/health")[1]
        self.assertEqual((h["database"], h["group_id"]), ("FromEnv", "from-flag"))
        n.stop()
        n.env["PORT"] = "abc"
        code, out = n.run([], timeout=10)
        self.assertNotEqual(code, 0)
        self.assertIn("PORT", out)
        self.assertEqual(len(out.strip().splitlines()), 1, out)
        code, out = n.run(["--help"])
        self.assertEqual(code, 0)
        for key in ("PORT", "SYNC_TIMER_MS", "DB_SQLITE_FILE"):
            self.assertIn(key, out)

    def test_the_hub_relays_other_groups_without_applying_them(self):
        n = self.node(GROUP_ID="mine").start()
        before = n.call("GET", "/health")[1]["merkle_hash"]
        ts = "2026-01-02T03:04:05.006Z-0000-aaaaaaaaaaaaaaaa"
        msg = {"timestamp": ts, "dataset": "contacts", "row": "01JAR2HPE7JJS1HYQZ7FYK0S4D",
               "column": "first_name", "value": "relayed"}
        s, b, _ = n.call("POST", "/sync", {"group_id": "theirs", "client_id": "aaaaaaaaaaaaaaaa",
                                           "messages": [msg], "merkle": {}})
        self.assertEqual(s, 200, b)
        self.assertEqual(b["data"]["messages"], [])  # its own message is not sent back
        s, b, _ = n.call("POST", "/sync", {"group_id": "theirs", "client_id": "bbbbbbbbbbbbbbbb",
                                           "messages": [], "merkle": {}})
        self.assertEqual(b["data"]["messages"], [msg])
        self.assertNotEqual(b["data"]["merkle"]["hash"], 0)
        # Not applied here, and this node's own trie is untouched.
        self.assertEqual(n.call("GET", "/store/contacts/01JAR2HPE7JJS1HYQZ7FYK0S4D")[0], 404)
        self.assertEqual(n.call("GET", "/health")[1]["merkle_hash"], before)

    def test_deeply_nested_json_is_refused_and_the_server_stays_up(self):
        n = self.node().start()
        deep = '{"data":' + "[" * 300000 + "]" * 300000 + "}"
        for path in ("/store/contacts", "/sync", "/store/config/config_sync/X"):
            s, b, _ = n.call("POST", path, raw=deep)
            self.assertEqual(s, 400, path)
        # Nesting inside a string is just text.
        s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": "[" * 150}})
        self.assertEqual(s, 201, b)
        self.assertEqual(n.call("GET", "/health")[0], 200)

    def test_a_sync_secret_guards_the_hub_and_is_sent_by_nodes(self):
        hub = self.node(SYNC_SECRET="s3cret", GROUP_ID="g").start()
        body = {"group_id": "g", "client_id": "0123456789abcdef", "messages": [], "merkle": {}}
        s, b, _ = hub.call("POST", "/sync", body)
        self.assertEqual((s, b["status"]), (401, "error"))
        s, _, _ = hub.call("POST", "/sync", body, headers={"X-Sync-Secret": "wrong!"})
        self.assertEqual(s, 401)
        s, b, _ = hub.call("POST", "/sync", body, headers={"X-Sync-Secret": "s3cret"})
        self.assertEqual((s, b["status"]), (200, "ok"))
        node = self.node(SYNC_SECRET="s3cret", GROUP_ID="g", SYNC_ENABLED="true",
                         SYNC_TIMER_MS="100", SYNC_ENDPOINT=f"http://127.0.0.1:{hub.port}").start()
        rid = node.call("POST", "/store/contacts", {"data": {"first_name": "secret"}})[1]["data"][0]["id"]
        deadline = time.time() + 15
        while time.time() < deadline and hub.call("GET", f"/store/contacts/{rid}")[0] != 200:
            time.sleep(0.05)
        self.assertEqual(hub.call("GET", f"/store/contacts/{rid}")[0], 200)
        # A node with the wrong secret keeps its writes and reports the failure.
        other = self.node(SYNC_SECRET="nope", GROUP_ID="g", SYNC_ENABLED="true",
                          SYNC_TIMER_MS="100", SYNC_ENDPOINT=f"http://127.0.0.1:{hub.port}").start()
        self.assertEqual(other.call("POST", "/store/contacts", {"data": {"first_name": "x"}})[0], 201)
        pending = other.call("GET", "/health")[1]["pending"]
        self.assertGreater(pending, 0)
        deadline = time.time() + 15
        last = None
        while time.time() < deadline:
            last = other.call("GET", "/health")[1]["last_sync"]
            if last:
                break
            time.sleep(0.05)
        self.assertIsNotNone(last)
        self.assertFalse(last["ok"])
        self.assertIn("401", last["error"])
        # Several failed rounds later not one message has left the outbox.
        time.sleep(1)
        self.assertEqual(other.call("GET", "/health")[1]["pending"], pending)

    def test_bad_sync_bodies_change_nothing(self):
        n = self.node().start()
        before = n.call("GET", "/health")[1]["merkle_hash"]
        for raw in [b"{not json", b"[]", json.dumps({"group_id": "g"}).encode(),
                    json.dumps({"group_id": "g", "client_id": "short", "messages": []}).encode(),
                    json.dumps({"group_id": "g", "client_id": "0123456789abcdef", "messages": [{}]}).encode(),
                    json.dumps({"group_id": "g", "client_id": "0123456789abcdef", "messages": [],
                                "merkle": {"7": {}}}).encode()]:
            s, b, _ = n.call("POST", "/sync", raw=raw)
            self.assertEqual(s, 400, raw)
            self.assertEqual(b["status"], "error")
        self.assertEqual(n.call("GET", "/health")[1]["merkle_hash"], before)


    def test_sigterm_with_requests_in_flight_stops_the_server(self):
        """Answers that will never be written must not keep the process alive."""
        n = self.node().start()
        body = json.dumps({"data": {"email": "nobody@example.com", "password": "wrong password"}})
        socks = []
        for _ in range(30):  # each login costs a password hash: most are still waiting
            s = socket.create_connection(("127.0.0.1", n.port))
            s.sendall(f"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n{body}"
                      .encode())
            socks.append(s)
        time.sleep(0.05)
        n.proc.send_signal(signal.SIGTERM)
        try:
            code = n.proc.wait(timeout=15)
        except Exception:
            self.fail("the server did not stop within 15 s of SIGTERM")
        finally:
            for s in socks:
                s.close()
        self.assertEqual(code, 0)
        n.proc = None

if __name__ == "__main__":
    unittest.main()
