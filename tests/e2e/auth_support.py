"""What the authentication suites share: JWT helpers and assertions on the envelopes."""
import base64
import datetime
import glob
import json
import time

from harness import NodeTestCase, wait_for

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


class AuthCase(NodeTestCase):

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
        return wait_for(what, check, timeout)

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

    def database_bytes(self, node):
        data = b""
        for path in glob.glob(node.db + "*"):
            with open(path, "rb") as f:
                data += f.read()
        return data
