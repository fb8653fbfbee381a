"""Behind a reverse proxy (TRUSTED_PROXIES): a trusted proxy's
X-Forwarded-For names the client for the login throttle and the access log;
the header is ignored from anybody else; and a hub without SYNC_SECRET does
not take a relayed /sync call as one from its own machine."""
import http.client
import json
import time
import unittest

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, NodeTestCase

SYNC_BODY = {"group_id": "my_group", "client_id": "0123456789abcdef", "messages": [], "merkle": {}}


def login_from(n, client, email, password):
    headers = {"X-Forwarded-For": client} if client else None
    return n.call("POST", "/auth/login", {"data": {"email": email, "password": password}},
                  auth=False, headers=headers)


def failures_until_throttled(n, client, limit=25):
    """Failed logins (a new email each, so that only the address counts)
    from `client` until one is answered 429; their number."""
    for i in range(limit):
        s, _, _ = login_from(n, client, f"nobody{i}-{client}@example.com", "whatever-1")
        if s == 429:
            return i
        assert s == 401, s
    return limit


class ProxyTest(NodeTestCase):
    def test_a_trusted_proxy_names_each_client(self):
        n = self.node(TRUSTED_PROXIES="127.0.0.1", LOG_FORMAT="json").start()
        # One guesser behind the proxy is throttled after 20 failures (the
        # 21st try is refused; the wait is 1 s, so the next two checks come
        # at once, neither of them hashing a password)...
        self.assertEqual(failures_until_throttled(n, "198.51.100.1"), 20)
        # ...under the address the proxy appended, not one the client wrote
        # in front of it; and the proxy's lines of the header count in order.
        s, _, _ = login_from(n, "10.9.9.9, 198.51.100.1", ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertEqual(s, 429)
        c = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
        c.putrequest("POST", "/auth/login")
        c.putheader("Content-Type", "application/json")
        c.putheader("X-Forwarded-For", "10.9.9.9")
        c.putheader("X-Forwarded-For", "198.51.100.1")
        body = json.dumps({"data": {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}}).encode()
        c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 429)
        # The other clients of the same proxy are not throttled: they log in.
        self.assertEqual(login_from(n, "198.51.100.2", ADMIN_EMAIL, ADMIN_PASSWORD)[0], 200)
        s, _, _ = login_from(n, "198.51.100.1, [2001:db8::5]:4431", ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertEqual(s, 200)
        # The access log names the clients.
        deadline = time.time() + 5
        peers = set()
        while time.time() < deadline and not {"198.51.100.1", "198.51.100.2", "2001:db8::5"} <= peers:
            time.sleep(0.05)
            peers = {json.loads(line).get("peer") for line in n.output().splitlines()
                     if line.startswith("{") and '"msg":"request"' in line}
        self.assertLessEqual({"198.51.100.1", "198.51.100.2", "2001:db8::5"}, peers)

    def test_without_the_setting_the_header_is_not_believed(self):
        n = self.node().start()
        # Every failure counts against the connection's own address, whatever
        # each request claims: the 21st is refused from a "new" client too.
        for i in range(20):
            s, _, _ = login_from(n, f"198.51.100.{i + 1}", f"nobody{i}@example.com", "whatever-1")
            self.assertEqual(s, 401, i)
        self.assertEqual(login_from(n, "198.51.100.99", ADMIN_EMAIL, ADMIN_PASSWORD)[0], 429)
        self.assertEqual(login_from(n, None, ADMIN_EMAIL, ADMIN_PASSWORD)[0], 429)

    def test_a_hub_without_a_secret_refuses_relayed_sync_calls(self):
        hub = self.node().start()
        self.assertEqual(hub.call("POST", "/sync", SYNC_BODY)[0], 200)
        for header, value in [("X-Forwarded-For", "198.51.100.1"),
                              ("Forwarded", "for=198.51.100.1;proto=https"),
                              ("X-Real-IP", "198.51.100.1")]:
            s, b, _ = hub.call("POST", "/sync", SYNC_BODY, headers={header: value})
            self.assertEqual((s, b["status"]), (401, "error"), header)
            self.assertIn("proxy", b["reason"], header)
        # Behind a trusted proxy, whatever it names, a relayed call is not
        # one from this machine: a client elsewhere, or this machine itself.
        proxied = self.node(TRUSTED_PROXIES="127.0.0.1").start()
        for named in ["198.51.100.1", "127.0.0.1"]:
            s, b, _ = proxied.call("POST", "/sync", SYNC_BODY, headers={"X-Forwarded-For": named})
            self.assertEqual(s, 401, named)
            self.assertIn("SYNC_SECRET", b["reason"], named)
        self.assertEqual(proxied.call("POST", "/sync", SYNC_BODY)[0], 200)
        # With the group's secret, the proxy does not matter.
        secret = self.node(SYNC_SECRET="s3cret").start()
        s, b, _ = secret.call("POST", "/sync", SYNC_BODY,
                              headers={"X-Forwarded-For": "198.51.100.1", "X-Sync-Secret": "s3cret"})
        self.assertEqual((s, b["status"]), (200, "ok"))

    def test_a_bad_value_stops_start_up(self):
        bad = self.node(TRUSTED_PROXIES="nginx.internal")
        code, out = bad.run()
        self.assertNotEqual(code, 0)
        self.assertIn("TRUSTED_PROXIES", out)


if __name__ == "__main__":
    unittest.main()
