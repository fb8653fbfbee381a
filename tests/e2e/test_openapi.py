"""GET /openapi.json: valid OpenAPI 3.1 (checked with @seriousme/openapi-schema-
validator from the npm registry, installed into the build folder), describing
every served table, including one defined at runtime, with record shapes that
the real answers fit."""
import json
import os
import shutil
import subprocess
import unittest

from harness import NodeTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "openapi")
WORK = os.environ.get("CRDT_OPENAPI_WORK", os.path.join(HERE, "..", "..", "build", "openapi-npm"))


def install_validator():
    os.makedirs(WORK, exist_ok=True)
    for f in ("package.json", "package-lock.json", "validate.mjs"):
        shutil.copy(os.path.join(SRC, f), WORK)
    if not os.path.isdir(os.path.join(WORK, "node_modules", "@seriousme")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=WORK, check=True,
                       timeout=300)


class OpenApiTest(NodeTestCase):
    def validate(self, doc):
        path = os.path.join(WORK, "doc.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        r = subprocess.run(["node", "validate.mjs", path], cwd=WORK, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def test_the_document_is_valid_and_follows_the_tables(self):
        install_validator()
        n = self.node().start()
        self.assertEqual(n.call("GET", "/openapi.json", auth=False)[0], 401)
        s, doc, _ = n.call("GET", "/openapi.json")
        self.assertEqual(s, 200, doc)
        self.assertEqual(doc["openapi"], "3.1.0")
        print(self.validate(doc))
        for path in ("/store/contacts", "/store/contacts/{id}", "/auth/login", "/health", "/metrics", "/sync"):
            self.assertIn(path, doc["paths"])
        contact = doc["components"]["schemas"]["contactsCreate"]
        self.assertEqual(contact["required"], ["first_name"])
        self.assertEqual(contact["properties"]["first_name"]["maxLength"], 200)
        self.assertIn("Where", json.dumps(doc["paths"]["/store/contacts"]["get"]["parameters"]))
        # A table defined at runtime appears at once, and is valid too.
        s, b, _ = n.call("POST", "/schema/devices", {"type": "object", "properties": {
            "serial": {"type": "string"}, "temp": {"type": ["number", "null"]}}, "required": ["serial"]})
        self.assertEqual(s, 201, b)
        s, doc, _ = n.call("GET", "/openapi.json")
        self.assertIn("/store/devices/{id}", doc["paths"])
        self.validate(doc)
        # A real answer fits the described record: every key is described.
        s, b, _ = n.call("POST", "/store/devices", {"data": {"serial": "A1"}})
        self.assertEqual(s, 201, b)
        described = set(doc["components"]["schemas"]["SystemFields"]["properties"])
        for part in doc["components"]["schemas"]["devices"]["allOf"]:
            described |= set(part.get("properties", {}))
        self.assertLessEqual(set(b["data"][0]), described, b)


if __name__ == "__main__":
    unittest.main()
