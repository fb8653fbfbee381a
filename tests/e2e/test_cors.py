"""Browsers on other origins (CORS_ORIGINS): a preflight from a listed
origin gets the methods and headers it may use, its requests carry
Access-Control-Allow-Origin, other origins get neither; without the
setting nothing changes; a bad value stops start-up."""
import http.client
import json
import unittest

from harness import NodeTestCase

APP = "http://localhost:5173"


def raw(n, method, path, headers):
    c = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
    c.request(method, path, headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


class CorsTest(NodeTestCase):
    def test_listed_origins_may_call_others_not(self):
        n = self.node(CORS_ORIGINS=f"{APP},https://app.example.com").start()
        s, h, _ = raw(n, "OPTIONS", "/store/contacts",
                      {"Origin": APP, "Access-Control-Request-Method": "PATCH",
                       "Access-Control-Request-Headers": "authorization,content-type"})
        self.assertEqual(s, 204)
        self.assertEqual(h["access-control-allow-origin"], APP)
        self.assertIn("PATCH", h["access-control-allow-methods"])
        self.assertIn("Authorization", h["access-control-allow-headers"])
        self.assertEqual(h["vary"], "Origin")
        s, h, _ = raw(n, "GET", "/store/contacts", {"Origin": APP, "Authorization": "Bearer " + n.token})
        self.assertEqual(s, 200)
        self.assertEqual(h["access-control-allow-origin"], APP)
        self.assertIn("X-Request-Id", h["access-control-expose-headers"])
        # Errors carry it too, so the page can read them.
        s, h, _ = raw(n, "GET", "/store/contacts", {"Origin": APP})
        self.assertEqual(s, 401)
        self.assertEqual(h["access-control-allow-origin"], APP)
        # Another origin: refused preflight, no header on answers.
        s, h, _ = raw(n, "OPTIONS", "/store/contacts",
                      {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
        self.assertEqual(s, 403)
        self.assertNotIn("access-control-allow-origin", h)
        s, h, _ = raw(n, "GET", "/health", {"Origin": "https://evil.example"})
        self.assertEqual(s, 200)
        self.assertNotIn("access-control-allow-origin", h)

    def test_sync_is_never_for_pages_without_a_secret(self):
        n = self.node(CORS_ORIGINS="*").start()
        # A preflight for /sync is not granted, and its answers carry no
        # CORS header (pages never read them).
        s, h, _ = raw(n, "OPTIONS", "/sync", {"Origin": APP, "Access-Control-Request-Method": "POST"})
        self.assertEqual(s, 403)
        self.assertNotIn("access-control-allow-origin", h)
        # A "simple" cross-origin POST, which a browser sends without a
        # preflight: refused, nothing stored.
        body = json.dumps({"group_id": "my_group", "client_id": "0123456789abcdef", "messages": [], "merkle": {}})
        c = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
        c.request("POST", "/sync", body, {"Origin": "https://evil.example", "Content-Type": "text/plain"})
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 401)
        self.assertNotIn("access-control-allow-origin", {k.lower() for k, _ in r.getheaders()})
        # The same call from a node (no Origin) is served.
        c = http.client.HTTPConnection("127.0.0.1", n.port, timeout=10)
        c.request("POST", "/sync", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        c.close()
        self.assertEqual(r.status, 200)

    def test_without_the_setting_nothing_changes(self):
        n = self.node().start()
        s, h, _ = raw(n, "OPTIONS", "/store/contacts", {"Origin": APP, "Access-Control-Request-Method": "GET"})
        self.assertEqual(s, 405)
        s, h, _ = raw(n, "GET", "/health", {"Origin": APP})
        self.assertNotIn("access-control-allow-origin", h)

    def test_any_origin_and_a_bad_value(self):
        n = self.node(CORS_ORIGINS="*").start()
        s, h, _ = raw(n, "GET", "/health", {"Origin": "https://anything.example"})
        self.assertEqual(h["access-control-allow-origin"], "*")
        self.assertNotIn("vary", h)
        bad = self.node(CORS_ORIGINS="https://app.example.com/path")
        code, out = bad.run()
        self.assertNotEqual(code, 0)
        self.assertIn("CORS_ORIGINS", out)


if __name__ == "__main__":
    unittest.main()
