// Validates an OpenAPI document (a file) against the OpenAPI 3.1 schema
// with @seriousme/openapi-schema-validator, and checks that every $ref
// resolves. Exit 0 and one line when valid; the errors otherwise.
import { Validator } from "@seriousme/openapi-schema-validator";
import { readFileSync } from "node:fs";

const doc = JSON.parse(readFileSync(process.argv[2], "utf8"));
const validator = new Validator();
const res = await validator.validate(doc);
if (!res.valid) {
  console.error(JSON.stringify(res.errors, null, 2));
  process.exit(1);
}
const missing = [];
const walk = (v) => {
  if (Array.isArray(v)) return v.forEach(walk);
  if (v && typeof v === "object") {
    if (typeof v.$ref === "string") {
      let at = doc;
      for (const part of v.$ref.replace(/^#\//, "").split("/")) at = at?.[part];
      if (at === undefined) missing.push(v.$ref);
    }
    Object.values(v).forEach(walk);
  }
};
walk(doc);
if (missing.length) {
  console.error("unresolved $ref: " + [...new Set(missing)].join(", "));
  process.exit(1);
}
console.log(`valid OpenAPI ${validator.version}, ${Object.keys(doc.paths).length} paths`);
