#pragma once

// Organizations and accounts: the service's own replicated tables and the
// rules for the values that go into them. No I/O.

#include "protocol/change.hpp"
#include "protocol/schema.hpp"

#include <string>
#include <string_view>

namespace crdt {

/// Replicated table of organizations (field `name`).
constexpr const char* organizations_table = "crdt_organizations";

/// Replicated table of accounts (fields `email`, `password_hash`, `role`;
/// the account's organization is its `organization_id`).
constexpr const char* accounts_table = "crdt_accounts";

/// The two roles: admins manage their organization's accounts and the
/// node's sync settings; members work with records.
constexpr const char* admin_role = "admin";
constexpr const char* member_role = "member";

/// Adds the organization and account tables to a loaded schema set.
void add_builtin_tables(schema_set& schemas);

/// True for tables the REST API never serves directly (crdt_*).
bool is_internal_table(std::string_view name);

/// Lower-cases and trims an email address (emails match case-insensitively).
std::string normalize_email(std::string_view email);

/// Why `email` (normalized) is not acceptable; empty when it is.
std::string email_problem(std::string_view email);

/// Why `password` is not acceptable (8 to 1024 bytes); empty when it is.
std::string password_problem(std::string_view password);

/// The id of the first admin of `organization_id`: the same on every node
/// of a group, so that nodes started apart create one account, not one
/// each. A ULID whose time part is the organization's (when its id is a
/// ULID) and whose random part is a keyed hash of organization and email.
std::string admin_account_id(std::string_view organization_id,
                             std::string_view email);

/// Timestamps for the `n` messages that found an organization and its
/// first admin at start-up: at the organization's own time (its ULID's;
/// the epoch for an id that is no ULID or lies in the future) with counters
/// 0..n-1 and this node's id. Every later change (a new password, a new name)
/// is stamped by the HLC and so wins over them on every node, however late a
/// node joins the group and founds the same organization again.
std::vector<std::string> founding_stamps(const std::string& organization_id,
                                         const std::string& node_id, size_t n);

/// The change creating an organization named `name` with id `id`, made by
/// `who` (its organization_id is the new organization itself).
record_change make_organization(const std::string& id, const std::string& name,
                                principal who);

/// The change creating an account; `who.organization_id` is the account's
/// organization and `who.account_id` its creator.
record_change make_account(const std::string& id, const std::string& email,
                           const std::string& password_hash,
                           const std::string& role, principal who);

} // namespace crdt
