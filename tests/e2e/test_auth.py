"""End-to-end tests of tokens, logins, throttling and the generated admin password."""
import hashlib
import hmac
import json
import os
import re
import time
import unittest

from auth_support import CONTACT, SOME_ID, AuthCase, b64url, flip, jwt_parts, parse_time
from harness import ADMIN_EMAIL, ADMIN_PASSWORD, DEFAULT_ORG


class AuthTest(AuthCase):
    # -- tokens ----------------------------------------------------------------------------

    def test_login_answer_and_every_api_path_needs_a_valid_token(self):
        n = self.node().start()
        before = time.time()
        s, b, _ = n.login_call(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertEqual(s, 200, b)
        self.assertIs(b["success"], True)
        self.assertEqual(b["count"], 1)
        self.assertIn("message", b)
        row = b["data"][0]
        self.assertLessEqual({"token", "account_id", "organization_id", "role", "expires_at"}, set(row), row)
        self.assertEqual((row["organization_id"], row["role"]), (DEFAULT_ORG, "admin"))
        self.assertTrue(row["token"])
        self.assertAlmostEqual(parse_time(row["expires_at"]), before + 3600, delta=120)
        token = row["token"]
        # Emails are matched case-insensitively.
        s, b, _ = n.login_call("Admin@EXAMPLE.com", ADMIN_PASSWORD)
        self.assertEqual(s, 200, b)
        self.assertEqual(b["data"][0]["account_id"], row["account_id"])

        # /health and /sync (no SYNC_SECRET) need no token.
        self.assertEqual(n.call("GET", "/health", auth=False)[0], 200)
        s, b, _ = n.call("POST", "/sync", {"group_id": "g", "client_id": "0123456789abcdef",
                                           "messages": [], "merkle": {}}, auth=False)
        self.assertEqual(s, 200, b)

        guarded = [("GET", CONTACT, None),
                   ("POST", CONTACT, {"data": {"first_name": "intruder"}}),
                   ("GET", f"{CONTACT}/{SOME_ID}", None),
                   ("PATCH", f"{CONTACT}/{SOME_ID}", {"data": {"first_name": "intruder"}}),
                   ("DELETE", f"{CONTACT}/{SOME_ID}", None),
                   ("GET", "/store/config_application", None),
                   ("GET", "/config/config_sync", None),
                   ("GET", "/config/config_sync/SYNC_TIMER_MS", None),
                   ("POST", "/store/config/config_sync/SYNC_TIMER_MS", {"data": {"value": "777", "type": "string"}}),
                   ("GET", "/auth/accounts", None),
                   ("POST", "/auth/accounts", {"data": {"email": "intruder@example.com", "password": "intruder-1"}}),
                   ("POST", "/auth/organizations", {"data": {"name": "X", "admin_email": "x@example.com",
                                                              "admin_password": "intruder-1"}})]
        for method, path, body in guarded:
            with self.subTest(method=method, path=path):
                self.assertUnauthorized(n.call(method, path, body, auth=False), f"{method} {path} without a token")

        bad = {"other scheme": "Basic YWRtaW46eA==",
               "scheme only": "Bearer",
               "empty token": "Bearer ",
               "no scheme": token,
               "garbage": "Bearer not-a-token",
               "three garbage parts": "Bearer a.b.c",
               "trailing junk": f"Bearer {token} extra",
               "flipped in the middle": "Bearer " + flip(token, len(token) // 2),
               "flipped near the end": "Bearer " + flip(token, len(token) - 8),
               "flipped at the start": "Bearer " + flip(token, 2),
               "truncated": "Bearer " + token[:-5],
               "extended": "Bearer " + token + "A"}
        parts = jwt_parts(token)
        if parts:  # a JWT: also forge it in the usual ways
            header, payload = parts
            h64, p64, _ = token.split(".")
            none_header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
            bad["alg none"] = f"Bearer {none_header}.{p64}."
            forged = dict(payload)
            for k in list(forged):
                if isinstance(forged[k], str) and forged[k] == row["account_id"]:
                    forged[k] = "01JAR2HPE7JJS1HYQZ7FYK0S4D"
            for k in ("exp",):
                if isinstance(forged.get(k), int):
                    forged[k] += 100000
            forged["role"] = "member" if payload.get("role") == "admin" else "admin"
            bad["payload changed, old signature"] = f"Bearer {h64}.{b64url(json.dumps(forged).encode())}.{token.split('.')[2]}"
            signed = f"{h64}.{p64}".encode()
            sig = b64url(hmac.new(b"not-the-secret", signed, hashlib.sha256).digest())
            bad["signed with another secret"] = f"Bearer {h64}.{p64}.{sig}"
        for what, value in bad.items():
            with self.subTest(token=what):
                self.assertUnauthorized(n.call("GET", CONTACT, headers={"Authorization": value}), what)
                self.assertUnauthorized(n.call("POST", CONTACT, {"data": {"first_name": "intruder"}},
                                               headers={"Authorization": value}), what)

        # The refused calls changed nothing; the real token still works.
        self.assertEqual(self.assertOk(n.call("GET", CONTACT, token=token)), [])
        value = self.assertOk(n.call("GET", "/config/config_sync/SYNC_TIMER_MS", token=token))[0]["value"]
        self.assertNotEqual(str(value), "777")
        emails = {a["email"].lower() for a in self.assertOk(n.call("GET", "/auth/accounts", token=token))}
        self.assertEqual(emails, {ADMIN_EMAIL})

    def test_an_expired_token_is_refused(self):
        # 2 s rather than 1: a JWT's exp counts whole seconds, so a 1 s token may be dead at once.
        n = self.node(TOKEN_TTL_SECONDS="2", login=False).start()
        s, b, _ = n.login_call(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertEqual(s, 200, b)
        token, logged_in = b["data"][0]["token"], time.time()
        self.assertAlmostEqual(parse_time(b["data"][0]["expires_at"]), logged_in + 2, delta=2)
        self.assertEqual(n.call("GET", CONTACT, token=token)[0], 200)
        answer = self.wait_until(lambda: (lambda a: a if a[0] != 200 else None)(n.call("GET", CONTACT, token=token)),
                                 "the token to expire", timeout=10)
        self.assertUnauthorized(answer, "expired token")
        self.assertGreaterEqual(time.time() - logged_in, 0.9)
        self.assertEqual(n.call("GET", CONTACT, token=n.login())[0], 200)

    def test_tokens_work_only_where_the_secret_is_known(self):
        # No JWT_SECRET: each node makes its own, keeps it across restarts.
        a, b = self.node().start(), self.node().start()
        self.assertEqual(a.account_id, b.account_id)  # the default admin's id is deterministic
        self.assertUnauthorized(b.call("GET", CONTACT, token=a.token), "token of a node with its own secret")
        old = a.token
        a.stop()
        a.start()
        self.assertEqual(a.call("GET", CONTACT, token=old)[0], 200, "token from before the restart")
        # A shared JWT_SECRET: the nodes accept each other's tokens; another secret does not.
        c = self.node(JWT_SECRET="e2e-shared-secret-0123456789abcdefghij").start()
        d = self.node(JWT_SECRET="e2e-shared-secret-0123456789abcdefghij").start()
        e = self.node(JWT_SECRET="e2e-another-secret-987654321abcdefghij").start()
        self.assertEqual(d.call("GET", CONTACT, token=c.token)[0], 200)
        self.assertEqual(c.call("GET", CONTACT, token=d.token)[0], 200)
        self.assertUnauthorized(e.call("GET", CONTACT, token=c.token), "token signed with another JWT_SECRET")
        self.assertUnauthorized(c.call("GET", CONTACT, token=a.token), "token of a node with its own secret")

    # -- login -----------------------------------------------------------------------------

    def test_login_refuses_bad_bodies_and_wrong_credentials(self):
        n = self.node().start()
        for what, raw in [("not JSON", "{not json"), ("array", "[]"), ("no data", "{}"),
                          ("data not an object", '{"data":"x"}'), ("empty data", '{"data":{}}'),
                          ("no password", json.dumps({"data": {"email": ADMIN_EMAIL}})),
                          ("no email", json.dumps({"data": {"password": ADMIN_PASSWORD}})),
                          ("email not a string", json.dumps({"data": {"email": 1, "password": ADMIN_PASSWORD}})),
                          ("password not a string", json.dumps({"data": {"email": ADMIN_EMAIL, "password": 1}}))]:
            with self.subTest(body=what):
                self.assertError(n.call("POST", "/auth/login", raw=raw, auth=False), 400, what)
        for what, email, password in [("wrong password", ADMIN_EMAIL, ADMIN_PASSWORD + "x"),
                                      ("unknown email", "nobody@example.com", ADMIN_PASSWORD)]:
            s, b, h = n.login_call(email, password)
            self.assertError((s, b, h), 401, what)
            self.assertNotIn("token", json.dumps(b), what)
        self.assertEqual(n.login_call(ADMIN_EMAIL, ADMIN_PASSWORD)[0], 200)

    def test_repeated_failures_for_one_email_are_throttled(self):
        n = self.node().start()
        member = ("member@example.com", "member-pass-1")
        self.assertOk(n.call("POST", "/auth/accounts", {"data": {"email": member[0], "password": member[1]}}), 201)
        for i in range(5):
            self.assertError(n.login_call(ADMIN_EMAIL, f"wrong-{i}"), 401, f"failure {i + 1}")
        # Locked: even the right password is refused, whatever the case of the email.
        answer = n.login_call(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertError(answer, 429, "right password while throttled")
        self.assertIn("too many failed logins", answer[1]["message"].lower())
        first = int(answer[2].get("Retry-After", "-1"))
        self.assertTrue(1 <= first <= 2, f"Retry-After {first} after the 5th failure (1 s expected)")
        self.assertError(n.login_call(ADMIN_EMAIL.upper(), ADMIN_PASSWORD), 429, "upper-case email while throttled")
        # Another email is not affected.
        self.assertEqual(n.login_call(*member)[0], 200)
        # After the delay, one more failure doubles it.
        self.wait_retry_after(answer[2])
        self.assertError(n.login_call(ADMIN_EMAIL, "wrong-again"), 401, "failure after the delay")
        answer = n.login_call(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertError(answer, 429, "right password after the 6th failure")
        second = int(answer[2].get("Retry-After", "-1"))
        self.assertTrue(2 <= second <= 3, f"Retry-After {second} after the 6th failure (2 s expected)")
        # A success resets the count: the next failure is a plain 401 again.
        self.wait_retry_after(answer[2])
        self.assertEqual(n.login_call(ADMIN_EMAIL, ADMIN_PASSWORD)[0], 200)
        self.assertError(n.login_call(ADMIN_EMAIL, "wrong-once-more"), 401, "failure after a success")
        self.assertEqual(n.login_call(ADMIN_EMAIL, ADMIN_PASSWORD)[0], 200)

    def test_repeated_failures_from_one_address_are_throttled(self):
        n = self.node().start()
        for i in range(20):
            self.assertError(n.login_call(f"nobody{i}@example.com", "whatever-1"), 401, f"failure {i + 1}")
        answer = n.login_call(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertError(answer, 429, "right password after 20 failures from this address")
        self.assertGreaterEqual(int(answer[2].get("Retry-After", "-1")), 1)
        self.wait_retry_after(answer[2])
        self.assertEqual(n.login_call(ADMIN_EMAIL, ADMIN_PASSWORD)[0], 200)

    def test_a_generated_admin_password_is_printed_once_and_kept(self):
        n = self.node(DEFAULT_ORGANIZATION_ADMIN_PASSWORD=None, login=False)
        n.err_log = os.path.join(n.dir, "stderr.log")
        n.start()

        def password_lines():
            return [line for line in n.output().splitlines() if "password" in line.lower()]
        deadline = time.time() + 5
        while not password_lines() and time.time() < deadline:
            time.sleep(0.05)
        lines = password_lines()
        self.assertTrue(lines, "no line about the generated password on stdout while the server runs "
                               f"(not printed, or not flushed); stdout: {n.output()!r}")
        candidates = []
        for line in lines:
            m = re.search(r"password\S*?\s*[:=]\s*(\S+)", line, re.I)
            if m:
                candidates.append(m.group(1))
            words = line.split()
            candidates.extend(w for w in reversed(words) if len(w) >= 8 and "password" not in w.lower())
        stripped = []
        for c in candidates:
            for v in (c, c.strip("'\"`()[]<>,;.")):
                if v and v not in stripped and ADMIN_EMAIL not in v.lower():
                    stripped.append(v)
        password = None
        for c in stripped[:4]:  # stay under the 5 failures that lock the email
            s, b, _ = n.login_call(ADMIN_EMAIL, c)
            if s == 200:
                password = c
                self.assertEqual(b["data"][0]["role"], "admin")
                break
        self.assertIsNotNone(password, f"no word of {lines} logs in")
        self.assertEqual(n.output().count(password), 1, "the password is printed exactly once")
        line = next(l for l in lines if password in l)
        printed_again = re.compile(re.escape(line).replace(re.escape(password), r"\S+"))

        n.stop()
        seen = len(n.output())
        n.start()
        self.assertEqual(n.call("GET", "/health", auth=False)[0], 200)
        time.sleep(0.3)  # give a (wrong) second print the chance to show up
        later = n.output()[seen:]
        self.assertNotIn(password, later)
        self.assertFalse([l for l in later.splitlines() if printed_again.fullmatch(l)],
                         f"a new password was printed at restart: {later!r}")
        self.assertEqual(n.login_call(ADMIN_EMAIL, password)[0], 200, "the first password works after a restart")
        with open(n.err_log, "rb") as f:
            self.assertNotIn(password.encode(), f.read())
        n.stop()
        self.assertNotIn(password.encode(), self.database_bytes(n))

    # -- accounts --------------------------------------------------------------------------


if __name__ == "__main__":
    unittest.main()
