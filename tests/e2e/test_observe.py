"""What an operator sees of running nodes: GET /metrics in the Prometheus text
format (checked with the prometheus_client parser from Debian's packages), each
counter moving under the action that should move it, who may read it, and the
JSON log: one object per line, one line per request with its id, route, status,
duration and organization, and never a token, password or record value."""
import json
import re
import sys
import time
import unittest

from harness import NodeTestCase, wait_for

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's python3-prometheus-client (scripts/install-deps.sh), when the
    # interpreter running the tests is not Debian's own.
    sys.path.append("/usr/lib/python3/dist-packages")
    from prometheus_client.parser import text_string_to_metric_families

SECRET = "observe-e2e-jwt-secret-0123456789abcdef"
METRICS_TOKEN = "observe-metrics-token-0123456789abcdef"


def scrape(node, token=METRICS_TOKEN):
    """The samples of GET /metrics, as {(name, frozenset(labels)): value}; fails on
    anything the Prometheus parser refuses."""
    status, body, headers = node.call("GET", "/metrics", token=token)
    assert status == 200, (status, body)
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
    text = body if isinstance(body, str) else body.decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


class MetricsTest(NodeTestCase):
    def test_every_counter_moves_under_its_action(self):
        hub = self.node(JWT_SECRET=SECRET, METRICS_TOKEN=METRICS_TOKEN).start()
        node = self.node(JWT_SECRET=SECRET, METRICS_TOKEN=METRICS_TOKEN, SYNC_ENABLED="true",
                         SYNC_TIMER_MS="100", SYNC_ENDPOINT=f"http://127.0.0.1:{hub.port}").start()
        wait_for("a first sync round", lambda: value(scrape(node), "crdt_store_sync_rounds_total",
                                                     outcome="ok") >= 1)
        before, hub_before = scrape(node), scrape(hub)

        # Writes: the route's request counter, its duration histogram, the
        # writer's commits and stored messages, the log.
        for i in range(5):
            s, b, _ = node.call("POST", "/store/contacts", {"data": {"first_name": f"n{i}", "last_name": "x"}})
            self.assertEqual(s, 201, b)
        self.assertEqual(node.call("GET", "/store/contacts/nope")[0], 404)
        self.assertEqual(node.call("GET", "/no/such/path")[0], 404)
        after = scrape(node)
        created = ("crdt_store_http_requests_total", dict(route="/store/:table", method="POST", status="201"))
        self.assertEqual(value(after, created[0], **created[1]) - value(before, created[0], **created[1]), 5)
        self.assertEqual(value(after, "crdt_store_http_requests_total", route="/store/:table/:id",
                               method="GET", status="404")
                         - value(before, "crdt_store_http_requests_total", route="/store/:table/:id",
                                 method="GET", status="404"), 1)
        self.assertGreaterEqual(value(after, "crdt_store_http_requests_total", route="unmatched",
                                      method="GET", status="404"), 1)
        self.assertGreaterEqual(value(after, "crdt_store_http_request_duration_seconds_count",
                                      route="/store/:table")
                                - value(before, "crdt_store_http_request_duration_seconds_count",
                                        route="/store/:table"), 5)
        self.assertGreater(value(after, "crdt_store_http_request_duration_seconds_sum", route="/store/:table"), 0)
        self.assertGreaterEqual(value(after, "crdt_store_writer_commit_duration_seconds_count")
                                - value(before, "crdt_store_writer_commit_duration_seconds_count"), 1)
        self.assertGreaterEqual(value(after, "crdt_store_writer_messages_stored_total")
                                - value(before, "crdt_store_writer_messages_stored_total"), 5 * 2)
        self.assertGreaterEqual(value(after, "crdt_store_log_messages")
                                - value(before, "crdt_store_log_messages"), 5 * 2)
        # Every bucket series ends in +Inf equal to the count.
        self.assertEqual(value(after, "crdt_store_writer_commit_batches_bucket", le="+Inf"),
                         value(after, "crdt_store_writer_commit_batches_count"))

        # Sync: the outbox drains, rounds and bytes move, the last success is
        # recent; the hub counts the requests and messages it served.
        def synced():
            m = scrape(node)
            return m if value(m, "crdt_store_outbox_messages") == 0 and \
                value(m, "crdt_store_sync_sent_bytes_total") > value(before, "crdt_store_sync_sent_bytes_total") \
                else None
        after = wait_for("the outbox to drain", synced)
        self.assertEqual(value(after, "crdt_store_sync_enabled"), 1)
        self.assertGreater(value(after, "crdt_store_sync_rounds_total", outcome="ok"),
                           value(before, "crdt_store_sync_rounds_total", outcome="ok"))
        self.assertGreater(value(after, "crdt_store_sync_received_bytes_total"),
                           value(before, "crdt_store_sync_received_bytes_total"))
        self.assertLess(value(after, "crdt_store_sync_last_success_age_seconds"), 5)
        self.assertGreater(value(after, "crdt_store_sync_last_success_timestamp_seconds"), time.time() - 60)
        hub_after = scrape(hub)
        self.assertGreater(value(hub_after, "crdt_store_hub_requests_total", protocol="exchange"),
                           value(hub_before, "crdt_store_hub_requests_total", protocol="exchange"))
        self.assertGreaterEqual(value(hub_after, "crdt_store_hub_received_messages_total")
                                - value(hub_before, "crdt_store_hub_received_messages_total"), 10)
        self.assertEqual(value(hub_after, "crdt_store_hub_groups"), 1)
        # The hub's own writes travel to the node: the hub counts them sent,
        # the node received.
        self.assertEqual(hub.call("POST", "/store/contacts", {"data": {"first_name": "from hub", "last_name": "x"}})[0], 201)
        wait_for("the node to receive the hub's write",
                 lambda: value(scrape(node), "crdt_store_sync_received_messages_total")
                 > value(after, "crdt_store_sync_received_messages_total"))
        self.assertGreater(value(scrape(hub), "crdt_store_hub_sent_messages_total"),
                           value(hub_after, "crdt_store_hub_sent_messages_total"))

        # A failing hub: failed rounds count, the age of the last success grows.
        hub.stop()
        wait_for("a failed round", lambda: value(scrape(node), "crdt_store_sync_rounds_total",
                                                 outcome="failed") >= 1)

        # Logins: failures, then throttling (five failures are free).
        for _ in range(5):
            s, _, _ = node.login_call(node.admin_email, "not-the-password")
            self.assertEqual(s, 401)
        s, _, _ = node.login_call(node.admin_email, "not-the-password")
        self.assertEqual(s, 429)
        m = scrape(node)
        self.assertGreaterEqual(value(m, "crdt_store_login_failures_total"), 5)
        self.assertGreaterEqual(value(m, "crdt_store_logins_throttled_total"), 1)

    def test_who_may_read_metrics(self):
        n = self.node(JWT_SECRET=SECRET, METRICS_TOKEN=METRICS_TOKEN).start()
        # The metrics token, or an operator's bearer token.
        self.assertEqual(n.call("GET", "/metrics", token=METRICS_TOKEN)[0], 200)
        self.assertEqual(n.call("GET", "/metrics")[0], 200)
        self.assertEqual(n.call("GET", "/metrics", auth=False)[0], 401)
        self.assertEqual(n.call("GET", "/metrics", token=METRICS_TOKEN + "x")[0], 401)
        s, b, _ = n.call("POST", "/auth/accounts", {"data": {"email": "m@example.com",
                                                            "password": "member-password-1"}})
        self.assertEqual(s, 201, b)
        self.assertEqual(n.call("GET", "/metrics", token=n.login("m@example.com", "member-password-1"))[0], 403)
        # Without METRICS_TOKEN only operators read it; a short token is refused at start.
        plain = self.node().start()
        self.assertEqual(plain.call("GET", "/metrics")[0], 200)
        self.assertEqual(plain.call("GET", "/metrics", token=METRICS_TOKEN)[0], 401)
        code, out = self.node(METRICS_TOKEN="short").run()
        self.assertNotEqual(code, 0)
        self.assertIn("METRICS_TOKEN", out)
        self.assertNotIn("short", out.replace("METRICS_TOKEN", ""))


class JsonLogTest(NodeTestCase):
    def test_one_json_object_per_line_and_per_request(self):
        n = self.node(LOG_FORMAT="json").start()
        s, b, h = n.call("POST", "/store/contacts", {"data": {"first_name": "secret-value-xyz", "last_name": "x"}},
                         headers={"X-Request-Id": "client-id-42"})
        self.assertEqual(s, 201, b)
        self.assertEqual(h["X-Request-Id"], "client-id-42")
        # A bad id is replaced, not echoed.
        s, _, h = n.call("GET", "/health", headers={"X-Request-Id": "bad id\"<>"})
        self.assertEqual(s, 200)
        self.assertRegex(h["X-Request-Id"], r"^[0-9a-f]{16}-\d+$")
        generated = h["X-Request-Id"]
        self.assertEqual(n.login_call(n.admin_email, "wrong-password-123")[0], 401)
        self.assertEqual(n.call("GET", "/no/such/path")[0], 404)
        # A request refused before routing (body too large) is logged too.
        s, _, _ = n.call("POST", "/store/contacts", raw="x" * (2 << 20))
        self.assertEqual(s, 413)

        def lines():
            # The 413's line is written as its connection closes, after the
            # client has the answer: wait for it (the count alone was met
            # early by start-up's /health polls, and the test failed now
            # and then).
            out = [json.loads(line) for line in n.output().splitlines() if line.strip()]
            done = any(o.get("msg") == "request" and o.get("status") == 413 for o in out)
            return out if done and sum(1 for o in out if o.get("msg") == "request") >= 6 else None
        logged = wait_for("the request lines", lines)
        for o in logged:
            self.assertIn("time", o)
            self.assertIn(o["level"], ("info", "error"))
            self.assertRegex(o["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        requests = [o for o in logged if o["msg"] == "request"]
        created = next(o for o in requests if o["request_id"] == "client-id-42")
        self.assertEqual((created["method"], created["route"], created["status"]),
                         ("POST", "/store/:table", 201))
        self.assertEqual(created["organization_id"], n.organization_id)
        self.assertGreaterEqual(created["duration_ms"], 0)
        self.assertTrue(any(o["request_id"] == generated and o["route"] == "/health" for o in requests))
        self.assertTrue(any(o["route"] == "unmatched" and o["status"] == 404 for o in requests))
        self.assertTrue(any(o["status"] == 413 for o in requests))
        self.assertTrue(any(o["route"] == "/auth/login" and o["status"] == 401 for o in requests))
        # Start-up lines are JSON too, without the "crdt-store: " prefix.
        self.assertTrue(any(o["msg"].startswith("node ") and "listening" in o["msg"] for o in logged))
        text = n.output()
        for secret in ("secret-value-xyz", "wrong-password-123", n.token, n.admin_password):
            self.assertNotIn(secret, text)

    def test_text_format_and_access_log_switch(self):
        n = self.node().start()
        self.assertEqual(n.call("GET", "/health")[0], 200)
        wait_for("a text request line",
                 lambda: re.search(r"^crdt-store: request \S+ GET /health 200 [\d.]+ ms$", n.output(), re.M))
        quiet = self.node(ACCESS_LOG="false").start()
        self.assertEqual(quiet.call("GET", "/health")[0], 200)
        time.sleep(0.3)
        self.assertNotIn("crdt-store: request", quiet.output())
        code, out = self.node(LOG_FORMAT="xml").run()
        self.assertNotEqual(code, 0)
        self.assertIn("LOG_FORMAT", out)


if __name__ == "__main__":
    unittest.main()
