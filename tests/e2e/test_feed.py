"""The change feed through the real server: GET /store/:table/changes as
Server-Sent Events and as a long poll. A stream catches up, says up-to-date,
then follows live writes; resuming from every event id after a restart gives
exactly the records changed after it; changes that arrive through sync
appear; a client that stops reading is cut with an error event while writers
go on; the subscriber and replay limits answer 503 and 409."""
import http.client
import json
import os
import random
import socket
import threading
import time
import unittest
from urllib.parse import quote

from harness import NodeTestCase, wait_for


class Stream:
    """One SSE response read event by event."""

    def __init__(self, node, path, last_event_id=None, timeout=20):
        self.conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout)
        headers = {"Authorization": "Bearer " + node.token}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", path, headers=headers)
        self.sock = self.conn.sock  # the response keeps it, the connection forgets it
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        self.last_id = None

    def next(self):
        """The next event as (type, id, data); comments are skipped. None at the end."""
        kind, ident, data = "message", None, []
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if data or kind != "message":
                    if ident:
                        self.last_id = ident
                    text = "\n".join(data)
                    return kind, ident, (json.loads(text) if text else None)
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                kind = value
            elif field == "id":
                ident = value
            elif field == "data":
                data.append(value)

    def until_up_to_date(self):
        """Events before the next up-to-date."""
        out = []
        while True:
            e = self.next()
            if e is None:
                raise AssertionError("the stream ended before up-to-date: %r" % out)
            if e[0] == "up-to-date":
                return out
            out.append(e)

    def close(self):
        # The response holds the socket open on its own.
        self.resp.close()
        self.conn.close()


class FeedTest(NodeTestCase):
    def create(self, n, name):
        s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": name, "last_name": "x"}})
        self.assertEqual(s, 201, b)
        return b["data"][0]["id"]

    def test_a_stream_catches_up_then_follows(self):
        n = self.node().start()
        first = self.create(n, "Ann")
        st = Stream(n, "/store/contacts/changes?since=0&pluck=first_name")
        try:
            self.assertEqual(st.status, 200)
            self.assertTrue(st.headers["content-type"].startswith("text/event-stream"))
            self.assertEqual(st.headers.get("x-accel-buffering"), "no")
            caught = st.until_up_to_date()
            self.assertEqual([(k, d) for k, _, d in caught],
                             [("message", {"id": first, "first_name": "Ann"})])
            second = self.create(n, "Bob")
            self.assertEqual(st.next()[2], {"id": second, "first_name": "Bob"})
            s, b, _ = n.call("PATCH", f"/store/contacts/{first}", {"data": {"first_name": "Anna"}})
            self.assertEqual(s, 200, b)
            self.assertEqual(st.next()[2], {"id": first, "first_name": "Anna"})
            self.assertEqual(n.call("DELETE", f"/store/contacts/{second}")[0], 200)
            kind, ident, data = st.next()
            self.assertEqual((kind, data), ("delete", {"id": second}))
            self.assertTrue(ident)
            # The metrics saw the subscriber and the four events.
            metrics = n.call("GET", "/metrics")[1].decode()
            self.assertIn("crdt_store_feed_subscribers 1\n", metrics)
            self.assertIn("crdt_store_feed_events_sent_total 4\n", metrics)
        finally:
            st.close()

    def test_a_browser_event_source_passes_its_token_in_the_query(self):
        n = self.node().start()
        token = n.token
        n.token = "not-a-token"  # the Stream's header, which the query must not override
        c = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
        c.request("GET", f"/store/contacts/changes?access_token={token}")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.readline(), b": changes of contacts\n")
        r.close()
        c.close()
        s, b, _ = n.call("GET", "/store/contacts/changes?access_token=forged", auth=False)
        self.assertEqual(s, 401, b)
        # Only the feed takes it.
        s, b, _ = n.call("GET", f"/store/contacts?access_token={token}", auth=False)
        self.assertEqual(s, 401, b)

    def test_resuming_from_every_event_after_a_restart(self):
        n = self.node().start()
        rng = random.Random(1206)
        st = Stream(n, "/store/contacts/changes")
        self.assertEqual(st.until_up_to_date(), [])
        # Each write waits for its event: write k has event id ids[k].
        ids, written, live = [], [], []
        for k in range(30):
            op = rng.random()
            if live and op < 0.2:
                rec = live.pop(rng.randrange(len(live)))
                self.assertEqual(n.call("DELETE", f"/store/contacts/{rec}")[0], 200)
            elif live and op < 0.5:
                rec = rng.choice(live)
                s, b, _ = n.call("PATCH", f"/store/contacts/{rec}", {"data": {"first_name": f"p{k}"}})
                self.assertEqual(s, 200, b)
            else:
                rec = self.create(n, f"c{k}")
                live.append(rec)
            kind, ident, data = st.next()
            self.assertEqual(data["id"], rec)
            ids.append(ident)
            written.append(rec)
        st.close()
        n.stop()
        n.start()
        for k, ident in enumerate(ids):
            resumed = Stream(n, "/store/contacts/changes", last_event_id=ident)
            got = {d["id"] for _, _, d in resumed.until_up_to_date()}
            resumed.close()
            self.assertEqual(got, set(written[k + 1:]), f"resuming after write {k}")
        # The long poll resumes the same way, page by page.
        got, since = set(), ids[9]
        while True:
            s, b, _ = n.call("GET", f"/store/contacts/changes?feed=longpoll&limit=3&timeout=0&since={quote(since)}")
            self.assertEqual(s, 200, b)
            got |= {c["record"]["id"] for c in b["data"]}
            since = b["last_event_id"]
            if b["up_to_date"] and not b["data"]:
                break
        self.assertEqual(got, set(written[10:]))

    def test_changes_from_sync_appear(self):
        secret = "feed-test-secret-0123456789abcdef0123"
        hub = self.node(JWT_SECRET=secret).start()
        node = self.node(JWT_SECRET=secret, SYNC_ENABLED="true", SYNC_TIMER_MS="100",
                         SYNC_ENDPOINT=f"http://127.0.0.1:{hub.port}").start()
        st = Stream(hub, "/store/contacts/changes")
        try:
            st.until_up_to_date()
            rec = self.create(node, "from the other node")
            deadline = time.time() + 20
            while time.time() < deadline:
                kind, _, data = st.next()
                if data and data.get("id") == rec:
                    self.assertEqual(data["first_name"], "from the other node")
                    break
            else:
                self.fail("the synced record never appeared in the hub's feed")
        finally:
            st.close()

    def test_a_client_that_stops_reading_is_cut_and_writers_go_on(self):
        n = self.node(FEED_QUEUE_BYTES="8192").start()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", n.port))
        sock.sendall(("GET /store/contacts/changes HTTP/1.1\r\nHost: x\r\n"
                      f"Authorization: Bearer {n.token}\r\n\r\n").encode())
        wait_for("a subscriber", lambda: "crdt_store_feed_subscribers 1" in n.call("GET", "/metrics")[1].decode())
        # Never read while 1,200 records (~10 MB of events, more than the
        # kernel's socket buffers take) are written.
        big = "y" * 8000
        for i in range(1200):
            s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": "z", "middle_name": big,
                                                                   "last_name": str(i)}})
            self.assertEqual(s, 201, b)
        metrics = lambda: n.call("GET", "/metrics")[1].decode()
        wait_for("the slow subscriber cut", lambda: "crdt_store_feed_subscribers_cut_total 1" in metrics())
        # What was queued before the cut, then the error event, then the end.
        sock.settimeout(30)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
        self.assertIn(b"event: error", data[-400:])
        wait_for("the subscriber gone", lambda: "crdt_store_feed_subscribers 0" in metrics())

    def test_streams_outlive_the_idle_timeout_and_polls_end_before_it(self):
        n = self.node(IDLE_TIMEOUT_MS="1500", FEED_HEARTBEAT_MS="400").start()
        st = Stream(n, "/store/contacts/changes")
        try:
            st.until_up_to_date()
            time.sleep(3.5)  # more than twice the idle timeout, heartbeats only
            rec = self.create(n, "late")
            self.assertEqual(st.next()[2]["id"], rec)
        finally:
            st.close()
        # A long poll's wait stays below the idle timeout (1.5 s * 3/4).
        s, b, _ = n.call("GET", "/store/contacts/changes?feed=longpoll&timeout=5")
        self.assertEqual(s, 400, b)
        started = time.time()
        s, b, _ = n.call("GET", "/store/contacts/changes?feed=longpoll")
        self.assertEqual((s, b["count"]), (200, 0), b)
        self.assertLess(time.time() - started, 1.5)

    def test_a_stream_ends_when_its_token_expires(self):
        """A stream outlives the request that let it in; it used to go on
        sending the organization's changes for as long as the connection
        lived, after its token expired (or its account was deleted)."""
        n = self.node(TOKEN_TTL_SECONDS="4", FEED_HEARTBEAT_MS="300").start()
        st = Stream(n, "/store/contacts/changes")
        # Heartbeats keep the socket busy: a stream that never ends is cut
        # from here after 10 s (the token lives 4; expiry is in whole
        # seconds, so up to a second less).
        cut = threading.Timer(10, lambda: st.sock.shutdown(socket.SHUT_RDWR))
        try:
            st.until_up_to_date()
            cut.start()
            e = st.next()
            while e is not None and e[0] != "error":
                e = st.next()
            self.assertIsNotNone(e, "still streaming 10 s after a 4-s token")
            self.assertEqual(e[2]["status"], 401, e)
            self.assertIsNone(st.next())  # and it is over
        finally:
            cut.cancel()
            st.close()
        # A change after expiry is not sent, even before the next heartbeat.
        n = self.node(TOKEN_TTL_SECONDS="4", FEED_HEARTBEAT_MS="60000").start()
        st = Stream(n, "/store/contacts/changes")
        try:
            st.until_up_to_date()
            time.sleep(4.5)
            n.token = n.login()
            self.create(n, "after expiry")
            e = st.next()
            self.assertIsNotNone(e)
            self.assertEqual((e[0], e[2]["status"]), ("error", 401), e)
        finally:
            st.close()

    def test_requests_pipelined_behind_a_stream_are_not_written_into_it(self):
        n = self.node().start()
        sock = socket.create_connection(("127.0.0.1", n.port))
        auth = f"Authorization: Bearer {n.token}\r\n"
        sock.sendall((f"GET /store/contacts/changes HTTP/1.1\r\nHost: x\r\n{auth}\r\n"
                      f"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                      f"POST /store/contacts HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 30\r\n\r\n"
                      '{"data":{"first_name":"pipe"}}').encode())
        sock.settimeout(2)
        data = b""
        try:
            while b"up-to-date" not in data:
                data += sock.recv(65536)
            rec = self.create(n, "after")
            while rec.encode() not in data:
                data += sock.recv(65536)
        finally:
            sock.close()
        self.assertEqual(data.count(b"HTTP/1.1 "), 1, data)
        self.assertEqual(n.call("GET", "/health", auth=False)[0], 200)

    def test_a_large_catch_up_is_not_mistaken_for_a_slow_client(self):
        n = self.node(FEED_QUEUE_BYTES="8192").start()
        ids = {self.create_big(n, i) for i in range(20)}  # ~160 KB, one catch-up page
        st = Stream(n, "/store/contacts/changes?since=0")
        try:
            got = {d["id"] for _, _, d in st.until_up_to_date()}
        finally:
            st.close()
        self.assertEqual(got, ids)

    def create_big(self, n, i):
        s, b, _ = n.call("POST", "/store/contacts", {"data": {"first_name": f"big{i}", "middle_name": "m" * 8000}})
        self.assertEqual(s, 201, b)
        return b["data"][0]["id"]

    def test_a_long_poll_whose_client_leaves_frees_its_place(self):
        n = self.node(FEED_MAX_SUBSCRIBERS="1").start()
        sock = socket.create_connection(("127.0.0.1", n.port))
        sock.sendall(("GET /store/contacts/changes?feed=longpoll&timeout=30 HTTP/1.1\r\nHost: x\r\n"
                      f"Authorization: Bearer {n.token}\r\n\r\n").encode())
        metrics = lambda: n.call("GET", "/metrics")[1].decode()
        wait_for("the waiting poll", lambda: "crdt_store_feed_subscribers 1\n" in metrics())
        sock.close()
        # Long before its 30 s: the place is free for the next client.
        wait_for("the place freed", lambda: "crdt_store_feed_subscribers 0\n" in metrics(), timeout=5)
        s, b, _ = n.call("GET", "/store/contacts/changes?feed=longpoll&timeout=0")
        self.assertEqual(s, 200, b)

    def test_limits(self):
        n = self.node(FEED_MAX_SUBSCRIBERS="2", FEED_REPLAY_LIMIT="5").start()
        for i in range(3):
            self.create(n, f"r{i}")
        # Too far back for this node's replay limit: 409, list again.
        s, b, _ = n.call("GET", "/store/contacts/changes?since=0")
        self.assertEqual(s, 409, b)
        self.assertIn("FEED_REPLAY_LIMIT", b["message"])
        streams = [Stream(n, "/store/contacts/changes") for _ in range(2)]
        try:
            for st in streams:
                self.assertEqual(st.status, 200)
            s, b, _ = n.call("GET", "/store/contacts/changes")
            self.assertEqual(s, 503, b)
        finally:
            for st in streams:
                st.close()
        wait_for("places free again", lambda: n.call("GET", "/store/contacts/changes?feed=longpoll&timeout=0")[0] == 200)
        # Bad input: 400, and nothing subscribed.
        for q in ("since=yesterday", "feed=ws", "pluck=nope", "limit=3"):
            s, b, _ = n.call("GET", "/store/contacts/changes?" + q)
            self.assertEqual(s, 400, (q, b))


if __name__ == "__main__":
    unittest.main()
