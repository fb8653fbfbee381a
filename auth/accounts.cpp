#include "auth/accounts.hpp"

#include "protocol/timestamp.hpp"
#include "protocol/ulid.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>

namespace crdt {

namespace {

constexpr const char* organizations_json = R"({
  "type": "object",
  "properties": {
    "name": { "type": "string", "minLength": 1, "maxLength": 200 }
  },
  "required": ["name"]
})";

constexpr const char* accounts_json = R"({
  "type": "object",
  "properties": {
    "email": { "type": "string", "minLength": 3, "maxLength": 254 },
    "password_hash": { "type": "string", "maxLength": 256 },
    "role": { "type": "string", "enum": ["admin", "member"] }
  },
  "required": ["email", "password_hash", "role"]
})";

table_ptr builtin(const char* name, const char* json) {
  auto t = table_schema::parse(name, json, true);
  if (!t) // a bug in the constants above, caught by every test run
    throw std::logic_error(std::string{"built-in table "} + name);
  return *t;
}

} // namespace

void add_builtin_tables(schema_set& schemas) {
  static const table_ptr orgs
      = builtin(organizations_table, organizations_json);
  static const table_ptr accounts = builtin(accounts_table, accounts_json);
  schemas[organizations_table] = orgs;
  schemas[accounts_table] = accounts;
}

bool is_internal_table(std::string_view name) {
  return name.rfind("crdt_", 0) == 0;
}

std::string normalize_email(std::string_view email) {
  auto first = email.find_first_not_of(" \t");
  auto last = email.find_last_not_of(" \t");
  if (first == std::string_view::npos)
    return {};
  std::string out{email.substr(first, last - first + 1)};
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

std::string email_problem(std::string_view email) {
  if (email.size() < 3 || email.size() > 254)
    return "must be an email address of at most 254 characters";
  auto at = email.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == email.size()
      || email.find('@', at + 1) != std::string_view::npos)
    return "must be an email address (name@domain)";
  for (unsigned char c : email)
    if (c <= ' ' || c == 0x7f)
      return "must not contain spaces or control characters";
  return {};
}

std::string password_problem(std::string_view password) {
  if (password.size() < 8)
    return "must be at least 8 characters";
  if (password.size() > 1024)
    return "must be at most 1024 bytes";
  return {};
}

std::string admin_account_id(std::string_view organization_id,
                             std::string_view email) {
  std::string input = "crdt-store first admin";
  input.push_back('\0');
  input.append(organization_id);
  input.push_back('\0');
  input.append(email);
  unsigned char digest[16];
  crypto_generichash(digest, sizeof digest,
                     reinterpret_cast<const unsigned char*>(input.data()),
                     input.size(), nullptr, 0);
  std::array<uint8_t, 10> bits;
  std::copy(digest, digest + bits.size(), bits.begin());
  // The organization's time (zero for an id that is no ULID).
  return make_ulid(ulid_millis(organization_id), bits);
}

std::vector<std::string> founding_stamps(const std::string& organization_id,
                                         const std::string& node_id, size_t n) {
  std::vector<std::string> out;
  // An id whose time lies ahead (a hand-made ULID) would make the stamps
  // future ones, which clocks and hubs refuse: fall back to the epoch.
  auto at = ulid_millis(organization_id);
  if (at > wall_clock_ms())
    at = 0;
  for (size_t i = 0; i < n; ++i)
    out.push_back(to_string(timestamp{at, static_cast<uint32_t>(i), node_id}));
  return out;
}

record_change make_organization(const std::string& id, const std::string& name,
                                principal who) {
  record_change c;
  c.kind = record_change::create;
  c.table = organizations_table;
  c.id = id;
  c.fields.emplace_back("name", value{name});
  who.organization_id = id;
  c.who = std::move(who);
  return c;
}

record_change make_account(const std::string& id, const std::string& email,
                           const std::string& password_hash,
                           const std::string& role, principal who) {
  record_change c;
  c.kind = record_change::create;
  c.table = accounts_table;
  c.id = id;
  c.fields.emplace_back("email", value{email});
  c.fields.emplace_back("password_hash", value{password_hash});
  c.fields.emplace_back("role", value{role});
  c.who = std::move(who);
  return c;
}

} // namespace crdt
