#include "http/routes.hpp"

#include "http/handlers.hpp"

namespace crdt {

const std::vector<route>& routes() {
  using a = access_level;
  static const std::vector<route> table{
      // Records of the caller's organization.
      {"POST", "/store/:table", a::member, create_record},
      {"GET", "/store/:table", a::member, list_records},
      // Before /store/:table/:id: a record id is a ULID, never "changes".
      {"GET", "/store/:table/changes", a::member, watch_changes},
      {"GET", "/store/:table/:id", a::member, get_record},
      {"PATCH", "/store/:table/:id", a::member, update_record},
      {"DELETE", "/store/:table/:id", a::member, delete_record},
      // Table definitions: read by anyone with a token, made by the
      // node's operators; they replicate to the whole group.
      {"GET", "/schema", a::member, list_tables},
      {"GET", "/schema/:table", a::member, get_table},
      {"POST", "/schema/:table", a::node_admin, define_table},
      {"GET", "/openapi.json", a::member, serve_openapi},
      // The node's sync settings (config_sync), path as in the seed.
      {"GET", "/config/config_sync", a::node_admin, list_settings},
      {"GET", "/config/config_sync/:key", a::node_admin, get_setting},
      {"POST", "/store/config/config_sync/:key", a::node_admin, set_setting},
      // Organizations, accounts and tokens.
      {"POST", "/auth/login", a::anyone, login},
      {"GET", "/auth/accounts", a::admin, list_accounts},
      {"POST", "/auth/accounts", a::admin, create_account},
      {"DELETE", "/auth/accounts/:id", a::admin, delete_account},
      {"POST", "/auth/password", a::member, change_password},
      {"POST", "/auth/organizations", a::node_admin, create_organization},
      // Other nodes, and whoever watches this one.
      {"POST", "/sync", a::peer, serve_sync},
      {"GET", "/health", a::anyone, health},
      {"GET", "/metrics", a::metrics_reader, serve_metrics},
      // The web console's page (it logs in through the API).
      {"GET", "/console", a::anyone, serve_console},
  };
  return table;
}

} // namespace crdt
