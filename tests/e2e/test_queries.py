"""List filters and cursor paging through the real server: where[...] in the
query string (percent-encoded as clients send it), typed by the schema, 400 for
what does not fit, `next` in the envelope, and pages that stay whole while
records are created in between."""
import unittest
from urllib.parse import urlencode

from harness import NodeTestCase


class QueryTest(NodeTestCase):
    def create(self, n, **fields):
        s, b, _ = n.call("POST", "/store/contacts", {"data": fields})
        self.assertEqual(s, 201, b)
        return b["data"][0]["id"]

    def ids(self, n, **params):
        s, b, _ = n.call("GET", "/store/contacts?" + urlencode(params))
        self.assertEqual(s, 200, b)
        return [r["id"] for r in b["data"]], b

    def test_filters_select_and_refuse(self):
        n = self.node().start()
        ann = self.create(n, first_name="Ann", last_name="Lee", middle_name="x")
        bob = self.create(n, first_name="Bob", last_name="Lee")
        cid = self.create(n, first_name="Cid", last_name="Ng", middle_name="50% off")
        got, _ = self.ids(n, **{"where[last_name]": "Lee"})
        self.assertEqual(sorted(got), sorted([ann, bob]))
        got, _ = self.ids(n, **{"where[last_name]": "Lee", "where[first_name][ne]": "Ann"})
        self.assertEqual(got, [bob])
        got, _ = self.ids(n, **{"where[first_name][in]": "Ann,Cid", "order": "-first_name"})
        self.assertEqual(got, [cid, ann])
        got, _ = self.ids(n, **{"where[first_name][gte]": "B", "order": "first_name"})
        self.assertEqual(got, [bob, cid])
        got, _ = self.ids(n, **{"where[first_name][like]": "a%"})  # case-insensitive, ASCII
        self.assertEqual(got, [ann])
        got, _ = self.ids(n, **{"where[middle_name][like]": "%\\%%"})  # a literal %
        self.assertEqual(got, [cid])
        got, _ = self.ids(n, **{"where[middle_name][null]": "true"})
        self.assertEqual(got, [bob])
        # ne keeps records without a value.
        got, _ = self.ids(n, **{"where[middle_name][ne]": "x"})
        self.assertEqual(sorted(got), sorted([bob, cid]))
        for params, field in [({"where[nope]": "1"}, "where[nope]"),
                              ({"where[first_name][regex]": "a"}, "where[first_name][regex]"),
                              ({"where[tombstone]": "1"}, "where[tombstone]"),
                              ({"after": "not-a-cursor"}, "after")]:
            s, b, _ = n.call("GET", "/store/contacts?" + urlencode(params))
            self.assertEqual(s, 400, (params, b))
            self.assertIn(field, [e["field"] for e in b["errors"]], b)

    def test_typed_filters_on_other_tables(self):
        n = self.node().start()
        s, b, _ = n.call("POST", "/schema/readings", {
            "type": "object", "properties": {"sensor": {"type": "string"},
                                             "value": {"type": ["number", "null"]},
                                             "ok": {"type": "boolean"}}})
        self.assertEqual(s, 201, b)
        rows = [("a", 1.5, True), ("a", 3, False), ("b", None, True), ("b", -2, True)]
        ids = []
        for sensor, v, ok in rows:
            s, b, _ = n.call("POST", "/store/readings", {"data": {"sensor": sensor, "value": v, "ok": ok}})
            self.assertEqual(s, 201, b)
            ids.append(b["data"][0]["id"])

        def q(**params):
            s, b, _ = n.call("GET", "/store/readings?" + urlencode(params))
            self.assertEqual(s, 200, b)
            return sorted(r["id"] for r in b["data"])
        self.assertEqual(q(**{"where[value][gt]": "1"}), sorted([ids[0], ids[1]]))
        self.assertEqual(q(**{"where[value][lte]": "1.5", "where[ok]": "true"}), sorted([ids[0], ids[3]]))
        self.assertEqual(q(**{"where[value][null]": "true"}), [ids[2]])
        self.assertEqual(q(**{"where[ok]": "false"}), [ids[1]])
        for bad in ({"where[value][gt]": "high"}, {"where[ok]": "yes"}, {"where[value][like]": "1%"}):
            s, b, _ = n.call("GET", "/store/readings?" + urlencode(bad))
            self.assertEqual(s, 400, (bad, b))

    def test_cursor_paging_survives_inserts(self):
        n = self.node().start()
        originals = [self.create(n, first_name=f"p{i % 7}", last_name="pager") for i in range(25)]
        params = {"order": "-first_name", "limit": "4", "where[last_name]": "pager"}
        seen, pages = [], 0
        while True:
            got, body = self.ids(n, **params)
            seen += got
            pages += 1
            # Inserted between pages: sorts both before and after the cursor.
            self.create(n, first_name="p0", last_name="pager")
            self.create(n, first_name="zz", last_name="pager")
            if "next" not in body:
                break
            self.assertEqual(len(got), 4)
            params["after"] = body["next"]
            self.assertLess(pages, 100)
        self.assertEqual(len(seen), len(set(seen)), "a record on two pages")
        s, b, _ = n.call("GET", "/store/contacts?" + urlencode({"where[last_name]": "pager",
                                                                 "pluck": "id,first_name"}))
        first = {r["id"]: r["first_name"] for r in b["data"]}
        self.assertLessEqual(set(originals), set(seen), "a record there all along was skipped")
        names = [first[i] for i in seen]
        self.assertEqual(names, sorted(names, reverse=True))
        # A cursor belongs to its order, and replaces the offset.
        s, b, _ = n.call("GET", "/store/contacts?" + urlencode({"order": "first_name", "after": params["after"]}))
        self.assertEqual(s, 400, b)
        s, b, _ = n.call("GET", "/store/contacts?" + urlencode({"order": "-first_name", "offset": "1",
                                                                 "after": params["after"]}))
        self.assertEqual(s, 400, b)


    def test_cursor_paging_past_long_values(self):
        # A sort value of 5,000 bytes once went into the cursor whole (as
        # 10,000 hex digits): the next page's URL was refused (414), and
        # paging could not get past that record.
        n = self.node().start()
        long_names = ["L" * 5000, "L" * 4999 + "M", "L" * 5000]
        ids = [self.create(n, first_name="longpager", last_name=name) for name in long_names]
        ids += [self.create(n, first_name="longpager", last_name=name) for name in ["A", "Z"]]
        for order in ["last_name", "-last_name"]:
            params = {"order": order, "limit": "1", "where[first_name]": "longpager"}
            seen = []
            for _ in range(10):
                got, body = self.ids(n, **params)
                seen += got
                if "next" not in body:
                    break
                self.assertLess(len(body["next"]), 512, order)
                params["after"] = body["next"]
            self.assertEqual(sorted(seen), sorted(ids), order)
            self.assertEqual(len(seen), len(ids), order)


if __name__ == "__main__":
    unittest.main()
