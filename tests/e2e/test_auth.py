"""End-to-end tests of authentication, accounts and organizations (issue #4)."""
import base64
import datetime
import glob
import hashlib
import hmac
import json
import os
import re
import sqlite3
import time
import unittest

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, DEFAULT_ORG, NodeTestCase

CONTACT = "/store/contacts"
SOME_ID = "01JAR2HPE7JJS1HYQZ7FYK0S4D"
ACCOUNT_FIELDS = {"id", "email", "role", "organization_id", "created_by", "created_at"}
LISTED_ACCOUNT_FIELDS = ACCOUNT_FIELDS | {"updated_at"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token):
    """(header, payload) of a JWT, or None when the token is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, payload = json.loads(unb64url(parts[0])), json.loads(unb64url(parts[1]))
    except ValueError:
        return None
    return (header, payload) if isinstance(header, dict) and "alg" in header else None


def flip(token, i):
    """The token with the character at i (moved off a '.') replaced."""
    while token[i] == ".":
        i += 1
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]


def parse_time(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def ids(rows):
    return {r["id"] for r in rows}


class AuthTest(NodeTestCase):

    # -- assertions ------------------------------------------------------------------------

    def assertError(self, answer, status, what=""):
        s, b, _ = answer
        self.assertEqual(s, status, f"{what}: {b}")
        self.assertIsInstance(b, dict, what)
        self.assertIs(b.get("success"), False, f"{what}: {b}")
        self.assertEqual(b.get("status"), status, f"{what}: {b}")
        self.assertIsInstance(b.get("message"), str, f"{what}: {b}")
        self.assertTrue(b["message"], what)

    def assertUnauthorized(self, answer, what=""):
        self.assertError(answer, 401, what)
        challenge = answer[2].get("WWW-Authenticate")
        self.assertIsNotNone(challenge, f"{what}: no WWW-Authenticate header")
        self.assertTrue(challenge.lower().startswith("bearer"), f"{what}: WWW-Authenticate {challenge!r}")

    def assertOk(self, answer, status=200, what=""):
        s, b, _ = answer
        self.assertEqual(s, status, f"{what}: {b}")
        self.assertIs(b.get("success"), True, f"{what}: {b}")
        return b["data"]

    def wait_until(self, check, what, timeout=20):
        deadline = time.time() + timeout
        while True:
            got = check()
            if got:
                return got
            if time.time() > deadline:
                self.fail(f"timed out waiting for {what}")
            time.sleep(0.05)

    def wait_synced(self, hub, *nodes, timeout=20):
        """Until every node has sent its outbox and all tries (hub included) are equal."""
        def synced():
            hs = [n.call("GET", "/health", auth=False)[1] for n in nodes]
            root = hub.call("GET", "/health", auth=False)[1]["merkle_hash"]
            return all(h["pending"] == 0 and h["merkle_hash"] == root for h in hs)
        self.wait_until(synced, "the nodes to sync", timeout)

    def wait_retry_after(self, headers):
        """Waits for the delay a 429 names; never polls a locked login (polls may count)."""
        time.sleep(int(headers["Retry-After"]) + 0.2)

    def create_contact(self, node, token, first_name, **extra):
        data = {"first_name": first_name, **extra}
        return self.assertOk(node.call("POST", CONTACT, {"data": data}, token=token), 201, first_name)[0]

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

    def test_admins_manage_accounts_and_members_cannot(self):
        n = self.node().start()
        s, b, _ = n.call("POST", "/auth/accounts", {"data": {"email": "Member@Example.org", "password": "member-pass-1"}})
        self.assertEqual(s, 201, b)
        self.assertEqual(b["count"], 1)
        member = b["data"][0]
        self.assertEqual(set(member), ACCOUNT_FIELDS)
        self.assertEqual(member["email"].lower(), "member@example.org")
        self.assertEqual((member["role"], member["organization_id"], member["created_by"]),
                         ("member", DEFAULT_ORG, n.account_id))
        self.assertNotIn("member-pass-1", json.dumps(b))
        admin2 = self.assertOk(n.call("POST", "/auth/accounts", {"data": {"email": "admin2@example.org",
                                                                          "password": "admin2-pass", "role": "admin"}}), 201)[0]
        self.assertEqual(admin2["role"], "admin")

        # Refused creates: 400 for bad input, 409 for a taken email (in any case).
        for what, data in [("email without @", {"email": "nobody.example.org", "password": "long-enough"}),
                           ("email with a space", {"email": "no body@example.org", "password": "long-enough"}),
                           ("short password", {"email": "short@example.org", "password": "1234567"}),
                           ("unknown field", {"email": "extra@example.org", "password": "long-enough", "age": 3}),
                           ("unknown role", {"email": "role@example.org", "password": "long-enough", "role": "owner"}),
                           ("no password", {"email": "nopass@example.org"}),
                           ("no email", {"password": "long-enough"})]:
            with self.subTest(create=what):
                self.assertError(n.call("POST", "/auth/accounts", {"data": data}), 400, what)
        self.assertError(n.call("POST", "/auth/accounts", raw="{nope"), 400, "not JSON")
        for email in ("member@example.org", "MEMBER@example.ORG", ADMIN_EMAIL.upper()):
            self.assertError(n.call("POST", "/auth/accounts", {"data": {"email": email, "password": "another-pass"}}),
                             409, f"taken email {email}")

        s, b, _ = n.call("GET", "/auth/accounts")
        self.assertEqual(s, 200, b)
        raw = json.dumps(b)
        self.assertNotIn("password_hash", raw)
        self.assertNotIn("member-pass-1", raw)
        by_email = {a["email"].lower(): a for a in b["data"]}
        self.assertEqual(set(by_email), {ADMIN_EMAIL, "member@example.org", "admin2@example.org"})
        for a in b["data"]:
            self.assertEqual(set(a), LISTED_ACCOUNT_FIELDS, a)
            self.assertEqual(a["organization_id"], DEFAULT_ORG)
        self.assertEqual(by_email["member@example.org"]["id"], member["id"])
        self.assertEqual(by_email[ADMIN_EMAIL]["id"], n.account_id)

        # The member logs in, uses the store, and is refused the admin-only endpoints.
        s, b, _ = n.login_call("member@example.org", "member-pass-1")
        self.assertEqual(s, 200, b)
        row = b["data"][0]
        self.assertEqual((row["account_id"], row["organization_id"], row["role"]), (member["id"], DEFAULT_ORG, "member"))
        tok = row["token"]
        rec = self.create_contact(n, tok, "by member")
        self.assertEqual((rec["created_by"], rec["updated_by"], rec["organization_id"]),
                         (member["id"], member["id"], DEFAULT_ORG))
        self.assertEqual(n.call("GET", f"{CONTACT}/{rec['id']}", token=tok)[0], 200)
        for method, path, body in [
                ("GET", "/config/config_sync", None),
                ("POST", "/store/config/config_sync/SYNC_TIMER_MS", {"data": {"value": "777", "type": "string"}}),
                ("GET", "/auth/accounts", None),
                ("POST", "/auth/accounts", {"data": {"email": "sneaky@example.org", "password": "sneaky-pass"}}),
                ("POST", "/auth/organizations", {"data": {"name": "Sneaky", "admin_email": "s@sneaky.org",
                                                           "admin_password": "sneaky-pass"}})]:
            with self.subTest(member=f"{method} {path}"):
                self.assertError(n.call(method, path, body, token=tok), 403, f"member {method} {path}")
        self.assertNotEqual(str(self.assertOk(n.call("GET", "/config/config_sync/SYNC_TIMER_MS"))[0]["value"]), "777")
        self.assertEqual(len(self.assertOk(n.call("GET", "/auth/accounts"))), 3)
        self.assertEqual(n.login_call("sneaky@example.org", "sneaky-pass")[0], 401)
        # An admin other than the default one may set config_sync and list accounts.
        tok2 = n.login("admin2@example.org", "admin2-pass")
        self.assertOk(n.call("POST", "/store/config/config_sync/SYNC_TIMER_MS",
                             {"data": {"value": "5000", "type": "string"}}, token=tok2))
        self.assertEqual(len(self.assertOk(n.call("GET", "/auth/accounts", token=tok2))), 3)

    # -- organizations ---------------------------------------------------------------------

    def make_org(self, node, token, name, email, password):
        s, b, _ = node.call("POST", "/auth/organizations",
                            {"data": {"name": name, "admin_email": email, "admin_password": password}}, token=token)
        self.assertEqual(s, 201, b)
        org = b["data"][0]
        self.assertLessEqual({"id", "name", "admin_account_id", "created_at"}, set(org), org)
        self.assertFalse([k for k in org if "password" in k or "hash" in k], org)
        self.assertEqual(org["name"], name)
        self.assertNotEqual(org["id"], DEFAULT_ORG)
        self.assertNotIn(password, json.dumps(b))
        return org

    def test_accounts_change_their_password_and_admins_delete_accounts(self):
        n = self.node().start()
        self.assertOk(n.call("POST", "/auth/accounts", {"data": {"email": "clerk@example.org",
                                                                 "password": "clerk-pass-1"}}), 201)
        clerk = n.login("clerk@example.org", "clerk-pass-1")
        change = {"data": {"current_password": "clerk-pass-1", "new_password": "clerk-pass-2"}}
        wrong = {"data": {"current_password": "not-it-at-all", "new_password": "clerk-pass-3"}}
        # A wrong current password is refused and changes nothing.
        self.assertError(n.call("POST", "/auth/password", wrong, token=clerk), 403, "wrong current password")
        self.assertError(n.call("POST", "/auth/password", {"data": {"current_password": "clerk-pass-1",
                                                                   "new_password": "short"}}, token=clerk),
                         400, "short new password")
        self.assertError(n.call("POST", "/auth/password", {"data": {"new_password": "clerk-pass-9"}}, token=clerk),
                         400, "no current password")
        self.assertUnauthorized(n.call("POST", "/auth/password", change, auth=False), "no token")
        self.assertEqual(n.login_call("clerk@example.org", "clerk-pass-1")[0], 200)
        # The change: the old password stops working, the new one works.
        self.assertOk(n.call("POST", "/auth/password", change, token=clerk))
        self.assertUnauthorized(n.login_call("clerk@example.org", "clerk-pass-1"), "old password")
        clerk = n.login("clerk@example.org", "clerk-pass-2")

        # Deleting: members may not, an admin may not delete itself, another
        # organization's admin does not see the account; the deleted account
        # cannot log in any more.
        accounts = self.assertOk(n.call("GET", "/auth/accounts"))
        clerk_id = next(a["id"] for a in accounts if a["email"] == "clerk@example.org")
        self.assertError(n.call("DELETE", f"/auth/accounts/{n.account_id}", token=clerk), 403, "member deletes")
        self.assertError(n.call("DELETE", f"/auth/accounts/{n.account_id}"), 400, "admin deletes itself")
        self.assertOk(n.call("POST", "/auth/organizations", {"data": {"name": "Other", "admin_email": "boss@other.org",
                                                                      "admin_password": "boss-pass-1"}}), 201)
        other = n.login("boss@other.org", "boss-pass-1")
        self.assertError(n.call("DELETE", f"/auth/accounts/{clerk_id}", token=other), 404, "other org deletes")
        self.assertOk(n.call("GET", CONTACT, token=clerk))
        self.assertOk(n.call("DELETE", f"/auth/accounts/{clerk_id}"))
        self.assertError(n.call("DELETE", f"/auth/accounts/{clerk_id}"), 404, "deleted twice")
        # The token it still holds stops working with the account.
        self.assertUnauthorized(n.call("GET", CONTACT, token=clerk), "token of a deleted account")
        self.assertUnauthorized(n.login_call("clerk@example.org", "clerk-pass-2"), "deleted account")
        self.assertNotIn(clerk_id, ids(self.assertOk(n.call("GET", "/auth/accounts"))))
        # Its email is free again.
        self.assertOk(n.call("POST", "/auth/accounts", {"data": {"email": "clerk@example.org",
                                                                 "password": "clerk-pass-4"}}), 201)

    def test_organizations_are_isolated_on_one_node(self):
        n = self.node().start()
        org = self.make_org(n, n.token, "Second", "boss@second.org", "boss-pass-1")
        s, b, _ = n.login_call("boss@second.org", "boss-pass-1")
        # The node's sync settings belong to the default organization's
        # admins: another organization's admin could otherwise point the
        # node's sync (and its secret) at a server of its own.
        boss_token = b["data"][0]["token"]
        for method, path, body in [
                ("GET", "/config/config_sync", None),
                ("GET", "/config/config_sync/SYNC_ENDPOINT", None),
                ("POST", "/store/config/config_sync/SYNC_ENDPOINT", {"data": {"value": "http://attacker:9"}}),
                ("POST", "/store/config/config_sync/SYNC_ENABLED", {"data": {"value": "true"}})]:
            with self.subTest(other_admin=f"{method} {path}"):
                self.assertError(n.call(method, path, body, token=boss_token), 403, f"{method} {path}")
        self.assertEqual(self.assertOk(n.call("GET", "/config/config_sync/SYNC_ENDPOINT"))[0]["value"], "")
        # Only the sync settings exist there.
        self.assertError(n.call("POST", "/store/config/config_sync/NOT_A_SETTING", {"data": {"value": "x"}}),
                         400, "unknown key")
        self.assertEqual(s, 200, b)
        boss = b["data"][0]
        self.assertEqual((boss["account_id"], boss["organization_id"], boss["role"]),
                         (org["admin_account_id"], org["id"], "admin"))
        A, B = n.token, boss["token"]
        # Only admins of the default organization create organizations.
        self.assertError(n.call("POST", "/auth/organizations", {"data": {"name": "Third", "admin_email": "t@third.org",
                                                                         "admin_password": "third-pass"}}, token=B),
                         403, "admin of another organization creates an organization")
        # Each admin manages only its organization's accounts.
        b_member = self.assertOk(n.call("POST", "/auth/accounts",
                                        {"data": {"email": "worker@second.org", "password": "worker-pass"}}, token=B), 201)[0]
        self.assertEqual((b_member["organization_id"], b_member["created_by"]), (org["id"], org["admin_account_id"]))
        self.assertEqual({a["email"].lower() for a in self.assertOk(n.call("GET", "/auth/accounts", token=B))},
                         {"boss@second.org", "worker@second.org"})
        self.assertEqual({a["email"].lower() for a in self.assertOk(n.call("GET", "/auth/accounts", token=A))},
                         {ADMIN_EMAIL})
        W = n.login("worker@second.org", "worker-pass")

        a1 = self.create_contact(n, A, "alice", last_name="a")
        a2 = self.create_contact(n, A, "amos", last_name="a")
        b1 = self.create_contact(n, B, "bob", last_name="b")
        b2 = self.create_contact(n, W, "bea", last_name="b")
        for rec, who, org_id in [(a1, n.account_id, DEFAULT_ORG), (a2, n.account_id, DEFAULT_ORG),
                                 (b1, org["admin_account_id"], org["id"]), (b2, b_member["id"], org["id"])]:
            self.assertEqual((rec["organization_id"], rec["created_by"], rec["updated_by"]), (org_id, who, who), rec)
        cfg_a = self.assertOk(n.call("POST", "/store/config_application", {"data": {"key": "k", "value": "a"}}, token=A), 201)[0]

        for token, mine, theirs in [(A, {a1["id"], a2["id"]}, [b1, b2]), (B, {b1["id"], b2["id"]}, [a1, a2]),
                                    (W, {b1["id"], b2["id"]}, [a1, a2])]:
            self.assertEqual(ids(self.assertOk(n.call("GET", CONTACT, token=token))), mine)
            # Pages are cut from the organization's rows only, whatever the order.
            for query in ("pluck=first_name&order=-first_name&limit=2", "order=first_name&limit=2",
                          "order=-last_name&limit=2", "order=last_name&limit=2"):
                got = self.assertOk(n.call("GET", f"{CONTACT}?{query}", token=token))
                self.assertEqual(ids(got), mine, query)
            self.assertEqual(len(self.assertOk(n.call("GET", f"{CONTACT}?limit=5&offset=2", token=token))), 0)
            self.assertEqual(len(self.assertOk(n.call("GET", f"{CONTACT}?limit=1&offset=1", token=token))), 1)
            for rec in theirs:
                path = f"{CONTACT}/{rec['id']}"
                self.assertError(n.call("GET", path, token=token), 404, "GET another organization's record")
                self.assertError(n.call("PATCH", path, {"data": {"first_name": "hijacked"}}, token=token), 404,
                                 "PATCH another organization's record")
                self.assertError(n.call("DELETE", path, token=token), 404, "DELETE another organization's record")
                self.assertError(n.call("POST", CONTACT, {"data": {"id": rec["id"], "first_name": "dup"}}, token=token),
                                 409, "create with another organization's id")
        self.assertEqual(ids(self.assertOk(n.call("GET", "/store/config_application", token=A))), {cfg_a["id"]})
        self.assertEqual(self.assertOk(n.call("GET", "/store/config_application", token=B)), [])
        self.assertError(n.call("GET", f"/store/config_application/{cfg_a['id']}", token=B), 404, "config_application")

        # Nothing of the other organization's attempts stuck.
        for token, rec in [(A, a1), (A, a2), (B, b1), (B, b2)]:
            got = self.assertOk(n.call("GET", f"{CONTACT}/{rec['id']}", token=token))[0]
            self.assertEqual(got, rec)
        # Clients cannot claim another organization or author.
        for field in ("organization_id", "created_by", "updated_by"):
            self.assertError(n.call("POST", CONTACT, {"data": {"first_name": "x", field: org["id"]}}, token=A), 400, field)
            self.assertError(n.call("PATCH", f"{CONTACT}/{a1['id']}", {"data": {field: org["id"]}}, token=A), 400, field)

        # Same-organization writes: updated_by follows the writer, created_by stays.
        got = self.assertOk(n.call("PATCH", f"{CONTACT}/{b1['id']}", {"data": {"last_name": "w"}}, token=W))[0]
        self.assertEqual((got["created_by"], got["updated_by"], got["organization_id"], got["last_name"]),
                         (org["admin_account_id"], b_member["id"], org["id"], "w"))
        self.assertEqual(self.assertOk(n.call("GET", f"{CONTACT}/{b1['id']}", token=B))[0]["updated_by"], b_member["id"])
        self.assertOk(n.call("DELETE", f"{CONTACT}/{b2['id']}", token=B))
        self.assertEqual(ids(self.assertOk(n.call("GET", CONTACT, token=W))), {b1["id"]})
        self.assertEqual(ids(self.assertOk(n.call("GET", CONTACT, token=A))), {a1["id"], a2["id"]})

    def test_organizations_stay_isolated_across_synced_nodes(self):
        secret = "e2e-group-secret-0123456789abcdefghijk"
        hub = self.node(GROUP_ID="auth-group", JWT_SECRET=secret).start()
        sync = dict(GROUP_ID="auth-group", JWT_SECRET=secret, SYNC_ENABLED="true", SYNC_TIMER_MS="100",
                    SYNC_ENDPOINT=f"http://127.0.0.1:{hub.port}")
        a, b = self.node(**sync).start(), self.node(**sync).start()
        stranger = self.node(GROUP_ID="auth-group", JWT_SECRET="e2e-some-other-secret-42-abcdefghijklmnop").start()
        self.assertEqual({hub.account_id, a.account_id, b.account_id}, {a.account_id})
        # A token from A is good on B and the hub (shared secret), not on a node with another secret.
        self.assertEqual(b.call("GET", CONTACT, token=a.token)[0], 200)
        self.assertEqual(hub.call("GET", CONTACT, token=a.token)[0], 200)
        self.assertUnauthorized(stranger.call("GET", CONTACT, token=a.token), "token from A on another secret's node")

        org = self.make_org(a, a.token, "Remote", "boss@remote.org", "remote-pass-1")
        self.wait_synced(hub, a, b)
        s, body, _ = b.login_call("boss@remote.org", "remote-pass-1")
        self.assertEqual(s, 200, f"the organization's admin logs in on B after sync: {body}")
        self.assertEqual((body["data"][0]["organization_id"], body["data"][0]["account_id"]),
                         (org["id"], org["admin_account_id"]))
        boss = body["data"][0]["token"]
        self.assertEqual(a.call("GET", CONTACT, token=boss)[0], 200, "B's token on A")
        self.assertEqual({x["email"].lower() for x in self.assertOk(b.call("GET", "/auth/accounts", token=boss))},
                         {"boss@remote.org"})
        admin = a.token

        a_on_a = self.create_contact(a, admin, "admin on A")
        a_on_b = self.create_contact(b, admin, "admin on B")
        b_on_a = self.create_contact(a, boss, "boss on A")
        b_on_b = self.create_contact(b, boss, "boss on B")
        self.wait_synced(hub, a, b)
        mine = {admin: [a_on_a, a_on_b], boss: [b_on_a, b_on_b]}
        theirs = {admin: mine[boss], boss: mine[admin]}
        for node in (a, b, hub):
            for token in (admin, boss):
                with self.subTest(node=node.port, who="admin" if token == admin else "boss"):
                    self.assertEqual(ids(self.assertOk(node.call("GET", CONTACT, token=token))),
                                     {r["id"] for r in mine[token]})
                    for rec in mine[token]:
                        self.assertEqual(self.assertOk(node.call("GET", f"{CONTACT}/{rec['id']}", token=token))[0], rec)
                    for rec in theirs[token]:
                        self.assertError(node.call("GET", f"{CONTACT}/{rec['id']}", token=token), 404, "other org's record")
        # Refused writes on B to records written on A.
        self.assertError(b.call("PATCH", f"{CONTACT}/{b_on_a['id']}", {"data": {"first_name": "x"}}, token=admin), 404, "PATCH")
        self.assertError(b.call("DELETE", f"{CONTACT}/{a_on_a['id']}", token=boss), 404, "DELETE")
        self.assertError(b.call("POST", CONTACT, {"data": {"id": a_on_a["id"], "first_name": "dup"}}, token=boss),
                         409, "create with another organization's id")
        self.wait_synced(hub, a, b)
        for node in (a, hub):
            self.assertEqual(self.assertOk(node.call("GET", f"{CONTACT}/{b_on_a['id']}", token=boss))[0], b_on_a)
            self.assertEqual(self.assertOk(node.call("GET", f"{CONTACT}/{a_on_a['id']}", token=admin))[0], a_on_a)
        self.assertUnauthorized(stranger.call("GET", CONTACT, token=boss), "B's token on another secret's node")

    # -- storage ---------------------------------------------------------------------------

    def database_bytes(self, node):
        data = b""
        for path in glob.glob(node.db + "*"):
            with open(path, "rb") as f:
                data += f.read()
        return data

    def test_the_database_never_holds_a_clear_text_password(self):
        n = self.node().start()
        same = "Clear-Member-Pass-91"
        for email in ("m1@example.org", "m2@example.org"):
            self.assertOk(n.call("POST", "/auth/accounts", {"data": {"email": email, "password": same}}), 201)
        self.make_org(n, n.token, "Hashed", "boss@hashed.org", "Clear-Org-Pass-73")
        for email, password in [("m1@example.org", same), ("m2@example.org", same),
                                ("boss@hashed.org", "Clear-Org-Pass-73"), (ADMIN_EMAIL, ADMIN_PASSWORD)]:
            n.login(email, password)
        self.assertEqual(n.login_call(ADMIN_EMAIL, "Clear-Wrong-Pass-55")[0], 401)
        passwords = [ADMIN_PASSWORD, same, "Clear-Org-Pass-73", "Clear-Wrong-Pass-55"]
        data = self.database_bytes(n)
        self.assertTrue(data)
        for p in passwords:
            self.assertNotIn(p.encode(), data, f"{p} in the database files")
        # Salted: the two accounts with the same password store different hashes.
        con = sqlite3.connect(f"file:{n.db}?mode=ro", uri=True)
        try:
            found = False
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
                pw = [c for c in cols if "password" in c.lower()]
                if "email" not in cols or not pw:
                    continue
                hashes = dict(con.execute(f'SELECT lower(email), "{pw[0]}" FROM "{table}" '
                                          "WHERE lower(email) IN ('m1@example.org', 'm2@example.org')").fetchall())
                if len(hashes) == 2:
                    found = True
                    self.assertNotEqual(hashes["m1@example.org"], hashes["m2@example.org"], "unsalted hashes")
                    self.assertNotIn(same, str(hashes))
        finally:
            con.close()
        self.assertTrue(found, "no table with email and password columns holds the accounts")
        n.stop()
        data = self.database_bytes(n)
        for p in passwords:
            self.assertNotIn(p.encode(), data, f"{p} in the database files after shutdown")
        log = n.output()
        for p in passwords:
            self.assertNotIn(p, log, f"{p} in the server's output")


if __name__ == "__main__":
    unittest.main()
