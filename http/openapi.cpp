#include "http/openapi.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace crdt {

namespace {

// What does not depend on the tables: the envelopes, errors, security
// schemes and every route outside /store/:table.
constexpr const char* fixed_part = R"json({
"openapi": "3.1.0",
"info": {
  "title": "crdt-store",
  "version": "1",
  "description": "Schema-checked tables over SQLite, replicated between nodes as per-field last-writer-wins messages. Every read and write of /store is scoped to the caller's organization. Lists take pluck, limit, offset, order, where[field][op] filters and after= cursors (see docs/api.md)."
},
"security": [{"bearer": []}],
"paths": {
  "/auth/login": {"post": {"summary": "Exchange an email and password for a bearer token", "security": [],
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["data"],
      "properties": {"data": {"type": "object", "required": ["email", "password"],
        "properties": {"email": {"type": "string"}, "password": {"type": "string"}}}}}}}},
    "responses": {"200": {"$ref": "#/components/responses/Rows"}, "400": {"$ref": "#/components/responses/Error"},
      "401": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"}}}},
  "/auth/accounts": {
    "get": {"summary": "Accounts of the caller's organization (admins)", "responses": {"200": {"$ref": "#/components/responses/Rows"}, "403": {"$ref": "#/components/responses/Error"}}},
    "post": {"summary": "Create an account in the caller's organization (admins)",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["data"],
        "properties": {"data": {"type": "object", "required": ["email", "password"], "properties": {
          "email": {"type": "string"}, "password": {"type": "string", "minLength": 8}, "role": {"enum": ["admin", "member"]}}}}}}}},
      "responses": {"201": {"$ref": "#/components/responses/Rows"}, "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
  "/auth/accounts/{id}": {"delete": {"summary": "Delete an account (admins)", "parameters": [{"$ref": "#/components/parameters/Id"}],
    "responses": {"200": {"$ref": "#/components/responses/Rows"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
  "/auth/password": {"post": {"summary": "Change one's own password",
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["data"],
      "properties": {"data": {"type": "object", "required": ["current_password", "new_password"], "properties": {
        "current_password": {"type": "string"}, "new_password": {"type": "string", "minLength": 8}}}}}}}},
    "responses": {"200": {"$ref": "#/components/responses/Rows"}, "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "429": {"$ref": "#/components/responses/Error"}}}},
  "/auth/organizations": {"post": {"summary": "Create an organization and its first admin (operators)",
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["data"], "properties": {"data": {"type": "object"}}}}}},
    "responses": {"201": {"$ref": "#/components/responses/Rows"}, "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
  "/schema": {"get": {"summary": "The tables the group has defined, as JSON Schema", "responses": {"200": {"$ref": "#/components/responses/Rows"}}}},
  "/schema/{table}": {
    "parameters": [{"name": "table", "in": "path", "required": true, "schema": {"type": "string"}}],
    "get": {"summary": "One table's definition", "responses": {"200": {"$ref": "#/components/responses/Rows"}, "404": {"$ref": "#/components/responses/Error"}}},
    "post": {"summary": "Define a table or add fields (operators); the body is a JSON Schema with properties and required",
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
      "responses": {"200": {"$ref": "#/components/responses/Rows"}, "201": {"$ref": "#/components/responses/Rows"},
        "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}}}},
  "/config/config_sync": {"get": {"summary": "The node's sync settings (operators)", "responses": {"200": {"$ref": "#/components/responses/Rows"}, "403": {"$ref": "#/components/responses/Error"}}}},
  "/config/config_sync/{key}": {"get": {"summary": "One sync setting (operators)",
    "parameters": [{"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}],
    "responses": {"200": {"$ref": "#/components/responses/Rows"}, "403": {"$ref": "#/components/responses/Error"}}}},
  "/store/config/config_sync/{key}": {"post": {"summary": "Change a sync setting at runtime (operators)",
    "parameters": [{"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}],
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["data"],
      "properties": {"data": {"type": "object", "required": ["value"], "properties": {"value": {"type": ["string", "number", "boolean"]}, "type": {"type": "string"}}}}}}}},
    "responses": {"200": {"$ref": "#/components/responses/Rows"}, "400": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
  "/sync": {"post": {"summary": "The hub endpoint other nodes sync through (see docs/sync.md for the two wire formats)",
    "security": [{"syncSecret": []}, {}],
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}},
    "responses": {"200": {"description": "The hub's answer", "content": {"application/json": {"schema": {"type": "object"}}}},
      "400": {"description": "A bad batch", "content": {"application/json": {"schema": {"type": "object"}}}},
      "401": {"description": "Missing or wrong X-Sync-Secret", "content": {"application/json": {"schema": {"type": "object"}}}},
      "503": {"description": "Overloaded; retry after Retry-After", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
  "/health": {"get": {"summary": "Node id, group, merkle root, outbox, last sync, storage and schema state", "security": [],
    "responses": {"200": {"description": "The node's state", "content": {"application/json": {"schema": {"type": "object",
      "required": ["status", "node_id", "group_id", "merkle_hash", "pending"],
      "properties": {"status": {"enum": ["ok", "degraded"]}, "node_id": {"type": "string"}, "group_id": {"type": "string"},
        "merkle_hash": {"type": "integer"}, "pending": {"type": "integer"}}}}}}}}},
  "/metrics": {"get": {"summary": "Prometheus text format (operators, or the METRICS_TOKEN bearer token)",
    "responses": {"200": {"description": "The exposition", "content": {"text/plain": {"schema": {"type": "string"}}}},
      "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
  "/console": {"get": {"summary": "The web console: one HTML page that logs in through this API", "security": [],
    "responses": {"200": {"description": "The page", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
  "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}}
},
"components": {
  "securitySchemes": {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "A token from POST /auth/login"},
    "syncSecret": {"type": "apiKey", "in": "header", "name": "X-Sync-Secret", "description": "The group's SYNC_SECRET (without one, only callers on the hub's machine)"}
  },
  "parameters": {
    "Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
    "Pluck": {"name": "pluck", "in": "query", "description": "Comma-separated fields to return (id always)", "schema": {"type": "string"}},
    "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    "Offset": {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    "Order": {"name": "order", "in": "query", "description": "A field, or -field for descending; ties by id", "schema": {"type": "string"}},
    "After": {"name": "after", "in": "query", "description": "The next cursor of the previous page (same order and filters)", "schema": {"type": "string"}},
    "Where": {"name": "where", "in": "query", "style": "deepObject", "explode": true,
      "description": "where[field]=v or where[field][op]=v with op one of eq, ne, gt, gte, lt, lte, in, like, null; values typed by the table",
      "schema": {"type": "object", "additionalProperties": {"oneOf": [{"type": "string"},
        {"type": "object", "propertyNames": {"enum": ["eq", "ne", "gt", "gte", "lt", "lte", "in", "like", "null"]}, "additionalProperties": {"type": "string"}}]}}}
  },
  "schemas": {
    "FieldError": {"type": "object", "required": ["field", "message"], "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
    "Error": {"type": "object", "required": ["success", "status", "message"], "properties": {
      "success": {"const": false}, "status": {"type": "integer"}, "message": {"type": "string"}, "table": {"type": "string"},
      "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}}},
    "Rows": {"type": "object", "required": ["success", "message", "count", "data"], "properties": {
      "success": {"const": true}, "message": {"type": "string"}, "count": {"type": "integer", "minimum": 0},
      "next": {"type": "string", "description": "Cursor of the following page, on full pages of a list with a limit"},
      "data": {"type": "array", "items": {"type": "object"}}}},
    "SystemFields": {"type": "object", "properties": {
      "id": {"type": "string"}, "organization_id": {"type": ["string", "null"]}, "created_by": {"type": ["string", "null"]},
      "updated_by": {"type": ["string", "null"]}, "created_at": {"type": ["string", "null"], "format": "date-time"},
      "updated_at": {"type": ["string", "null"], "format": "date-time"}}}
  },
  "responses": {
    "Error": {"description": "The error envelope; 4xx changes nothing", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "Rows": {"description": "The success envelope", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Rows"}}}}
  }
}
})json";

using value_t = rapidjson::Value;

value_t str(const std::string& s, rapidjson::Document::AllocatorType& a) {
  return value_t{s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a};
}

// `text` parsed into a value of `a`'s document (an empty object if it is
// not JSON, which the callers' own texts always are).
value_t parse_into(const std::string& text,
                   rapidjson::Document::AllocatorType& a) {
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  value_t v{rapidjson::kObjectType};
  if (!d.HasParseError())
    v.CopyFrom(d, a);
  return v;
}

// A $ref object to `target`.
value_t ref(const std::string& target, rapidjson::Document::AllocatorType& a) {
  value_t v{rapidjson::kObjectType};
  v.AddMember("$ref", str(target, a), a);
  return v;
}

// A response whose body is the success envelope with rows of `row_schema`.
value_t rows_response(const std::string& description, const std::string& row_schema,
                      rapidjson::Document::AllocatorType& a) {
  auto text = R"({"description":"","content":{"application/json":{"schema":{"allOf":[{"$ref":"#/components/schemas/Rows"},{"type":"object","properties":{"data":{"type":"array","items":{"$ref":")"
              + row_schema + R"("}}}}]}}}})";
  auto v = parse_into(text, a);
  v["description"] = str(description, a);
  return v;
}

// A table's change feed; the summary and the record's schema are set per
// table.
constexpr const char* feed_path = R"j({"get": {
  "summary": "",
  "description": "Each change of a record of the caller's organization, after the position named by since or Last-Event-ID (an event id, which is an HLC; 0 for the whole log; none for from now on). As Server-Sent Events (the default): an event per changed record (id: its HLC, data: the record; event: delete with data {id} for deletions), up-to-date after the catch-up, a comment line as heartbeat. With feed=longpoll: a JSON answer as soon as there are changes or when the timeout ends. Delivery is at-least-once.",
  "parameters": [
    {"name": "since", "in": "query", "schema": {"type": "string"}, "description": "Resume after this event id (an HLC), or 0 for the start"},
    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string"}, "description": "Same as since, and wins over it (sent by EventSource when it reconnects)"},
    {"name": "feed", "in": "query", "schema": {"type": "string", "enum": ["sse", "longpoll"]}},
    {"name": "access_token", "in": "query", "schema": {"type": "string"}, "description": "The bearer token, for EventSource, which cannot send headers"},
    {"$ref": "#/components/parameters/Pluck"},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}, "description": "Long poll: the most changes per answer (100)"},
    {"name": "timeout", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 120}, "description": "Long poll: seconds to wait for a change (25)"}
  ],
  "responses": {
    "200": {"description": "A stream of events, or a long poll's changes",
      "content": {
        "text/event-stream": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object",
          "required": ["success", "count", "data", "last_event_id", "up_to_date"],
          "properties": {
            "success": {"type": "boolean"}, "message": {"type": "string"},
            "count": {"type": "integer"},
            "last_event_id": {"type": "string", "description": "Where the next poll resumes"},
            "up_to_date": {"type": "boolean"},
            "data": {"type": "array", "items": {"type": "object",
              "properties": {"id": {"type": "string"},
                             "type": {"type": "string", "enum": ["change", "delete"]},
                             "record": {"$ref": ""}}}}}}}}},
    "400": {"$ref": "#/components/responses/Error"},
    "401": {"$ref": "#/components/responses/Error"},
    "404": {"$ref": "#/components/responses/Error"},
    "409": {"$ref": "#/components/responses/Error"},
    "503": {"$ref": "#/components/responses/Error"}}}})j";

value_t error_responses(std::initializer_list<const char*> statuses,
                        value_t into, rapidjson::Document::AllocatorType& a) {
  for (const char* s : statuses)
    into.AddMember(str(s, a), ref("#/components/responses/Error", a), a);
  return into;
}

value_t body_of(const std::string& schema_ref,
                rapidjson::Document::AllocatorType& a) {
  auto v = parse_into(
      R"({"required":true,"content":{"application/json":{"schema":{"type":"object","required":["data"],"properties":{"data":{"$ref":""}}}}}})",
      a);
  v["content"]["application/json"]["schema"]["properties"]["data"]["$ref"]
      = str(schema_ref, a);
  return v;
}

value_t operation(const std::string& summary, value_t responses,
                  rapidjson::Document::AllocatorType& a) {
  value_t op{rapidjson::kObjectType};
  op.AddMember("summary", str(summary, a), a);
  op.AddMember("responses", responses, a);
  return op;
}

} // namespace

std::string openapi_document(const std::vector<described_table>& tables) {
  rapidjson::Document doc;
  doc.Parse(fixed_part);
  auto& a = doc.GetAllocator();
  auto& paths = doc["paths"];
  auto& schemas = doc["components"]["schemas"];
  for (const auto& [name, json] : tables) {
    auto table = parse_into(json, a);
    if (!table.IsObject() || !table.HasMember("properties"))
      continue;
    // The input: the table's own fields (and an optional id on create).
    value_t input{rapidjson::kObjectType};
    input.AddMember("type", "object", a);
    value_t props{rapidjson::kObjectType};
    props.AddMember("id", parse_into(R"j({"type":"string","description":"A new ULID, upper case (create only)"})j", a), a);
    // Records: the system fields, and every field of the table, null when
    // unset.
    value_t record_props{rapidjson::kObjectType};
    for (auto& m : table["properties"].GetObject()) {
      value_t field;
      field.CopyFrom(m.value, a);
      props.AddMember(value_t{m.name, a}, field, a);
      value_t either{rapidjson::kObjectType};
      value_t any{rapidjson::kArrayType};
      value_t copy;
      copy.CopyFrom(m.value, a);
      any.PushBack(copy, a);
      any.PushBack(parse_into(R"({"type":"null"})", a), a);
      either.AddMember("anyOf", any, a);
      record_props.AddMember(value_t{m.name, a}, either, a);
    }
    input.AddMember("properties", props, a);
    if (table.HasMember("required")) {
      value_t req;
      req.CopyFrom(table["required"], a);
      input.AddMember("required", req, a);
    }
    input.AddMember("additionalProperties", false, a);
    value_t patch;
    patch.CopyFrom(input, a);
    patch.RemoveMember("required");
    patch["properties"].RemoveMember("id");
    patch.AddMember("minProperties", 1, a);
    value_t record{rapidjson::kObjectType};
    value_t all_of{rapidjson::kArrayType};
    all_of.PushBack(ref("#/components/schemas/SystemFields", a), a);
    value_t own{rapidjson::kObjectType};
    own.AddMember("type", "object", a);
    own.AddMember("properties", record_props, a);
    all_of.PushBack(own, a);
    record.AddMember("allOf", all_of, a);

    schemas.AddMember(str(name, a), record, a);
    schemas.AddMember(str(name + "Create", a), input, a);
    schemas.AddMember(str(name + "Update", a), patch, a);
    auto row_ref = "#/components/schemas/" + name;

    // /store/<name>: list and create.
    value_t collection{rapidjson::kObjectType};
    value_t list_rs{rapidjson::kObjectType};
    list_rs.AddMember("200", rows_response("Live records of the caller's organization", row_ref, a), a);
    auto list = operation("List " + name,
                          error_responses({"400", "401"}, std::move(list_rs), a), a);
    value_t params{rapidjson::kArrayType};
    for (auto p : {"Pluck", "Limit", "Offset", "Order", "After", "Where"})
      params.PushBack(ref(std::string{"#/components/parameters/"} + p, a), a);
    list.AddMember("parameters", params, a);
    collection.AddMember("get", list, a);
    value_t create_rs{rapidjson::kObjectType};
    create_rs.AddMember("201", rows_response("The created record", row_ref, a), a);
    auto create = operation("Create a record in " + name,
                            error_responses({"400", "401", "409", "503", "507"},
                                            std::move(create_rs), a),
                            a);
    create.AddMember("requestBody", body_of("#/components/schemas/" + name + "Create", a), a);
    collection.AddMember("post", create, a);
    paths.AddMember(str("/store/" + name, a), collection, a);

    // /store/<name>/{id}: read, update, delete.
    value_t item{rapidjson::kObjectType};
    value_t item_params{rapidjson::kArrayType};
    item_params.PushBack(ref("#/components/parameters/Id", a), a);
    item.AddMember("parameters", item_params, a);
    value_t get_rs{rapidjson::kObjectType};
    get_rs.AddMember("200", rows_response("The record", row_ref, a), a);
    item.AddMember("get", operation("Read a record of " + name,
                                    error_responses({"401", "404"}, std::move(get_rs), a), a),
                   a);
    value_t patch_rs{rapidjson::kObjectType};
    patch_rs.AddMember("200", rows_response("The fields written", row_ref, a), a);
    auto update = operation("Update the fields sent",
                            error_responses({"400", "401", "404", "503", "507"},
                                            std::move(patch_rs), a),
                            a);
    update.AddMember("requestBody", body_of("#/components/schemas/" + name + "Update", a), a);
    item.AddMember("patch", update, a);
    value_t del_rs{rapidjson::kObjectType};
    del_rs.AddMember("200", ref("#/components/responses/Rows", a), a);
    item.AddMember("delete", operation("Delete a record (a tombstone that replicates)",
                                       error_responses({"401", "404", "503", "507"},
                                                       std::move(del_rs), a),
                                       a),
                   a);
    paths.AddMember(str("/store/" + name + "/{id}", a), item, a);

    // /store/<name>/changes: the change feed.
    auto feed = parse_into(feed_path, a);
    feed["get"]["summary"] = str("Changes of " + name + " (Server-Sent Events, or a long poll)", a);
    feed["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["data"]["items"]["properties"]["record"]["$ref"]
        = str(row_ref, a);
    paths.AddMember(str("/store/" + name + "/changes", a), feed, a);
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  doc.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

} // namespace crdt
