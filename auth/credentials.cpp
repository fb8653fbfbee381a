#include "auth/credentials.hpp"

#include "protocol/error.hpp"

#include <jwt.h>
#include <sodium.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <memory>

namespace crdt {

namespace {

struct jwt_deleter {
  void operator()(jwt_t* j) const {
    jwt_free(j);
  }
};
using jwt_ptr = std::unique_ptr<jwt_t, jwt_deleter>;

struct free_deleter {
  void operator()(char* p) const {
    std::free(p);
  }
};

caf::error unauthorized(std::string why) {
  return make_error(ec::unauthorized, std::move(why));
}

} // namespace

bool init_crypto() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

caf::expected<std::string> hash_password(std::string_view password) {
  if (!init_crypto())
    return make_error(ec::storage_failure, "libsodium is unusable");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE)
      != 0)
    return make_error(ec::storage_failure,
                      "cannot hash a password (out of memory)");
  return std::string{out};
}

bool verify_password(std::string_view password, const std::string& hash) {
  if (!init_crypto() || hash.empty() || hash.size() >= crypto_pwhash_STRBYTES)
    return false;
  // crypto_pwhash_str_verify reads a NUL-terminated buffer of STRBYTES.
  char buf[crypto_pwhash_STRBYTES] = {};
  hash.copy(buf, hash.size());
  return crypto_pwhash_str_verify(buf, password.data(), password.size()) == 0;
}

std::string random_hex(size_t bytes) {
  init_crypto();
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string out(bytes * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(),
                 reinterpret_cast<const unsigned char*>(raw.data()),
                 raw.size());
  out.pop_back();
  return out;
}

std::string random_password(size_t length) {
  init_crypto();
  static constexpr char alphabet[]
      = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  constexpr uint32_t n = sizeof(alphabet) - 1;
  std::string out;
  out.reserve(length);
  for (size_t i = 0; i < length; ++i)
    out.push_back(alphabet[randombytes_uniform(n)]);
  return out;
}

caf::expected<std::string> sign_token(const token_claims& claims,
                                      std::string_view key) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0)
    return make_error(ec::storage_failure, "cannot create a token");
  jwt_ptr jwt{raw};
  auto ok = jwt_add_grant(raw, "iss", "crdt-store") == 0
            && jwt_add_grant(raw, "sub", claims.account_id.c_str()) == 0
            && jwt_add_grant(raw, "org", claims.organization_id.c_str()) == 0
            && jwt_add_grant(raw, "role", claims.role.c_str()) == 0
            && jwt_add_grant(raw, "grp", claims.group_id.c_str()) == 0
            && jwt_add_grant_int(raw, "iat", claims.issued_at) == 0
            && jwt_add_grant_int(raw, "exp", claims.expires_at) == 0
            && jwt_set_alg(raw, JWT_ALG_HS256,
                           reinterpret_cast<const unsigned char*>(key.data()),
                           static_cast<int>(key.size()))
                   == 0;
  if (!ok)
    return make_error(ec::storage_failure, "cannot fill a token");
  std::unique_ptr<char, free_deleter> text{jwt_encode_str(raw)};
  if (!text)
    return make_error(ec::storage_failure, "cannot sign a token");
  return std::string{text.get()};
}

caf::expected<token_claims> verify_token(const std::string& token,
                                         std::string_view key,
                                         const std::string& group_id,
                                         int64_t now) {
  // A JWT is three base64url parts; refuse anything else before parsing.
  if (token.empty() || token.size() > 4096)
    return unauthorized("Invalid token");
  for (char c : token)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'
          || c == '.'))
      return unauthorized("Invalid token");
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, token.c_str(),
                 reinterpret_cast<const unsigned char*>(key.data()),
                 static_cast<int>(key.size()))
          != 0
      || raw == nullptr)
    return unauthorized("Invalid token");
  jwt_ptr jwt{raw};
  // Only the algorithm this service signs with: never "none", never a
  // public-key algorithm fed the HMAC secret.
  if (jwt_get_alg(raw) != JWT_ALG_HS256)
    return unauthorized("Invalid token");
  token_claims out;
  auto text = [&](const char* name, std::string& into) {
    const char* v = jwt_get_grant(raw, name);
    if (!v || !*v)
      return false;
    into = v;
    return true;
  };
  // jwt_get_grant_int cannot tell a string or null claim from 0, so read
  // the claim's JSON text and accept only a plain integer.
  auto number = [&](const char* name, int64_t& into) {
    std::unique_ptr<char, free_deleter> json{jwt_get_grants_json(raw, name)};
    if (!json)
      return false;
    std::string_view text{json.get()};
    auto [end, err]
        = std::from_chars(text.data(), text.data() + text.size(), into);
    return err == std::errc{} && end == text.data() + text.size();
  };
  std::string issuer;
  if (!text("iss", issuer) || issuer != "crdt-store"
      || !text("sub", out.account_id) || !text("org", out.organization_id)
      || !text("role", out.role) || !text("grp", out.group_id)
      || !number("iat", out.issued_at) || !number("exp", out.expires_at))
    return unauthorized("Invalid token");
  if (out.group_id != group_id)
    return unauthorized("Token issued for another group");
  if (now >= out.expires_at)
    return unauthorized("Token expired");
  return out;
}

std::string_view bearer_token(std::string_view header) {
  constexpr std::string_view scheme = "bearer ";
  if (header.size() <= scheme.size())
    return {};
  for (size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i])
      return {};
  auto rest = header.substr(scheme.size());
  auto first = rest.find_first_not_of(' ');
  if (first == std::string_view::npos)
    return {};
  rest = rest.substr(first);
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t'))
    rest.remove_suffix(1);
  return rest;
}

bool same_secret(std::string_view given, std::string_view want) {
  if (given.size() != want.size())
    return false;
  return sodium_memcmp(given.data(), want.data(), want.size()) == 0;
}

} // namespace crdt
