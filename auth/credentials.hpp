#pragma once

// Passwords and bearer tokens: thin wrappers over libsodium (argon2id
// hashes, random bytes) and libjwt (HS256-signed JSON Web Tokens). No I/O.

#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace crdt {

/// Initializes libsodium; safe to call many times and from many threads.
/// Returns false when the library cannot be used (no entropy source).
bool init_crypto();

/// An argon2id hash of `password` in libsodium's self-describing string
/// form (`$argon2id$v=19$m=…`), salted with fresh random bytes. Slow by
/// design (tens of milliseconds, 64 MiB): call it off the actor scheduler.
caf::expected<std::string> hash_password(std::string_view password);

/// True when `password` matches `hash` (a string from hash_password). A
/// malformed hash never matches. As slow as hash_password.
bool verify_password(std::string_view password, const std::string& hash);

/// `bytes` random bytes from the system's CSPRNG, hex-encoded.
std::string random_hex(size_t bytes);

/// A random password of `length` characters from an alphabet without
/// look-alikes (for the generated admin password).
std::string random_password(size_t length = 20);

/// The claims of a bearer token issued by this service.
struct token_claims {
  /// Account id (`sub`).
  std::string account_id;
  /// Organization of the account (`org`).
  std::string organization_id;
  /// "admin" or "member" (`role`).
  std::string role;
  /// Group the token was issued for (`grp`); a node refuses other groups'.
  std::string group_id;
  /// Issued at / expires at, in Unix seconds (`iat`, `exp`).
  int64_t issued_at = 0;
  int64_t expires_at = 0;
};

/// Signs `claims` with HMAC-SHA256 under `key` into a compact JWT.
caf::expected<std::string> sign_token(const token_claims& claims,
                                      std::string_view key);

/// Checks a compact JWT: an HS256 signature under `key`, every claim
/// present and well-formed, `grp` equal to `group_id`, and not expired at
/// `now` (Unix seconds). Fails with ec::unauthorized and a short reason.
caf::expected<token_claims> verify_token(const std::string& token,
                                         std::string_view key,
                                         const std::string& group_id,
                                         int64_t now);

/// Extracts the token from an `Authorization: Bearer <token>` header
/// value (a view into it); empty when the header is missing or uses
/// another scheme.
std::string_view bearer_token(std::string_view header);

/// Compares two secrets in time that depends only on their lengths.
bool same_secret(std::string_view given, std::string_view want);

} // namespace crdt
