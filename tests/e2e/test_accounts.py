"""End-to-end tests of accounts, organizations, isolation on one node and across synced
nodes, and passwords never stored in clear."""
import json
import sqlite3
import unittest

from auth_support import ACCOUNT_FIELDS, CONTACT, LISTED_ACCOUNT_FIELDS, AuthCase, ids
from harness import ADMIN_EMAIL, ADMIN_PASSWORD, DEFAULT_ORG


class AccountsTest(AuthCase):

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
