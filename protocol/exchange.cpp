#include "protocol/exchange.hpp"

#include "protocol/error.hpp"
#include "protocol/timestamp.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace crdt {

namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr size_t max_compared = 4096;
constexpr size_t max_ranges = 4096;

// The minute a base-3 key (padded with `fill`) stands for.
int64_t minute_of(std::string_view prefix, char fill) {
  int64_t m = 0;
  for (size_t i = 0; i < merkle_key_digits; ++i)
    m = m * 3 + ((i < prefix.size() ? prefix[i] : fill) - '0');
  return m;
}

bool valid_key(std::string_view key) {
  if (key.size() > merkle_key_digits)
    return false;
  for (char c : key)
    if (c < '0' || c > '2')
      return false;
  return true;
}

void write_string(json_writer& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void write_ranges(json_writer& w, const std::vector<ts_range>& ranges) {
  w.Key("ranges");
  w.StartArray();
  for (const auto& r : ranges) {
    w.StartArray();
    write_string(w, r.after);
    write_string(w, r.before);
    w.EndArray();
  }
  w.EndArray();
}

caf::error read_ranges(const rapidjson::Value& v, std::vector<ts_range>& out) {
  if (!v.IsArray() || v.Size() > max_ranges)
    return make_error(ec::bad_request, "ranges must be an array of at most "
                                           + std::to_string(max_ranges));
  for (const auto& r : v.GetArray()) {
    if (!r.IsArray() || r.Size() != 2 || !r[0].IsString() || !r[1].IsString()
        || r[0].GetStringLength() > 64 || r[1].GetStringLength() > 64)
      return make_error(ec::bad_request,
                        "a range must be [after, before] (strings)");
    out.push_back({r[0].GetString(), r[1].GetString()});
  }
  return caf::none;
}

// An unsigned integer member; `present` says whether it was there.
caf::error read_count(const rapidjson::Value& obj, const char* name,
                      std::optional<uint64_t>& out) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd())
    return caf::none;
  if (!it->value.IsUint64())
    return make_error(ec::bad_request,
                      std::string{name} + " must be a non-negative integer");
  out = it->value.GetUint64();
  return caf::none;
}

std::optional<std::string> read_string(const rapidjson::Value& obj,
                                       const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString())
    return std::nullopt;
  return std::string{it->value.GetString(), it->value.GetStringLength()};
}

caf::expected<exchange_request>
read_exchange_request(const rapidjson::Value& doc) {
  // The group, client, messages and trie are checked like a
  // crdt-example-app request's; of the trie (one node, or the whole trie
  // of a node that knew the hub in that format) only the root is used.
  auto base = read_sync_request(doc);
  if (!base)
    return base.error();
  exchange_request out;
  out.group_id = std::move(base->group_id);
  out.client_id = std::move(base->client_id);
  out.messages = std::move(base->messages);
  if (auto err = read_count(doc, "after", out.after))
    return err;
  std::optional<uint64_t> page;
  if (auto err = read_count(doc, "page", page))
    return err;
  out.page = page.value_or(0);
  if (doc.HasMember("hub")) {
    auto hub = read_string(doc, "hub");
    if (!hub || hub->size() > 64)
      return make_error(ec::bad_request, "hub must be a node id");
    out.hub = std::move(*hub);
  }
  auto cmp = doc.FindMember("compare");
  if (cmp != doc.MemberEnd()) {
    if (!cmp->value.IsArray() || cmp->value.Size() > max_compared)
      return make_error(ec::bad_request, "compare must be an array of at most "
                                             + std::to_string(max_compared));
    for (const auto& n : cmp->value.GetArray()) {
      if (!n.IsArray() || n.Size() != 2 || !n[0].IsString() || !n[1].IsInt()
          || !valid_key(n[0].GetString()))
        return make_error(ec::bad_request,
                          "a compared node must be [trie key, hash]");
      out.compare.emplace_back(n[0].GetString(),
                               static_cast<uint32_t>(n[1].GetInt()));
    }
  }
  auto ranges = doc.FindMember("ranges");
  if (ranges != doc.MemberEnd())
    if (auto err = read_ranges(ranges->value, out.ranges))
      return err;
  return out;
}

caf::expected<exchange_answer>
read_exchange_answer(const rapidjson::Value& data) {
  exchange_answer out;
  auto hub = read_string(data, "hub");
  auto root = data.FindMember("root");
  if (!hub || root == data.MemberEnd() || !root->value.IsInt())
    return make_error(ec::sync_failure, "hub answer lacks hub or root");
  out.hub = std::move(*hub);
  out.root = static_cast<uint32_t>(root->value.GetInt());
  std::optional<uint64_t> head, next;
  if (auto err = read_count(data, "head", head))
    return err;
  if (auto err = read_count(data, "next", next))
    return err;
  out.head = head.value_or(0);
  out.next = next.value_or(0);
  auto more = data.FindMember("more");
  out.more = more != data.MemberEnd() && more->value.IsBool()
             && more->value.GetBool();
  auto msgs = data.FindMember("messages");
  if (msgs != data.MemberEnd())
    if (auto err = read_messages(msgs->value, out.messages))
      return err;
  auto children = data.FindMember("children");
  if (children != data.MemberEnd()) {
    if (!children->value.IsArray())
      return make_error(ec::sync_failure, "children must be an array");
    for (const auto& n : children->value.GetArray()) {
      if (!n.IsArray() || n.Size() != 2 || !n[0].IsString() || !n[1].IsArray()
          || n[1].Size() != 3 || !valid_key(n[0].GetString()))
        return make_error(ec::sync_failure,
                          "children must be [trie key, [3 hashes or null]]");
      node_children c;
      c.key = n[0].GetString();
      for (rapidjson::SizeType i = 0; i < 3; ++i)
        if (n[1][i].IsInt())
          c.children[i] = static_cast<uint32_t>(n[1][i].GetInt());
      out.children.push_back(std::move(c));
    }
  }
  auto ranges = data.FindMember("ranges");
  if (ranges != data.MemberEnd())
    if (auto err = read_ranges(ranges->value, out.ranges))
      return err;
  return out;
}

bool asks_for_exchange(const rapidjson::Value& obj) {
  auto p = obj.FindMember("protocol");
  return p != obj.MemberEnd() && p->value.IsInt()
         && p->value.GetInt() >= exchange_protocol;
}

} // namespace

ts_range range_of_prefix(std::string_view prefix) {
  auto from = minute_of(prefix, '0');
  auto to = minute_of(prefix, '2') + 1;
  return {iso8601(from * 60000), iso8601(to * 60000)};
}

std::vector<node_children> compare_nodes(const merkle_trie& trie,
                                         const node_hashes& theirs) {
  std::vector<node_children> out;
  for (const auto& [key, hash] : theirs) {
    const auto* n = trie.find(key);
    if ((n ? n->hash : 0) == hash)
      continue;
    node_children c;
    c.key = key;
    if (n)
      for (size_t i = 0; i < 3; ++i)
        if (n->children[i])
          c.children[i] = n->children[i]->hash;
    out.push_back(std::move(c));
  }
  return out;
}

descent descend(const merkle_trie& mine,
                const std::vector<node_children>& theirs) {
  descent out;
  for (const auto& c : theirs) {
    const auto* parent = mine.find(c.key);
    for (size_t i = 0; i < 3; ++i) {
      auto key = c.key + static_cast<char>('0' + i);
      const auto* own = parent ? parent->children[i].get() : nullptr;
      const auto& hub = c.children[i];
      if (!own && !hub)
        continue;
      if (own && hub && own->hash == *hub)
        continue;
      // One side lacks the whole subtree, or it is a minute: exchange it
      // whole; otherwise look one level further down.
      if (!own || !hub || key.size() >= merkle_key_digits)
        out.ranges.push_back(range_of_prefix(key));
      else
        out.next.emplace_back(key, own->hash);
    }
  }
  return out;
}

std::string write_exchange_request(const exchange_request& req, uint32_t root,
                                   std::string_view trie) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("group_id");
  write_string(w, req.group_id);
  w.Key("client_id");
  write_string(w, req.client_id);
  w.Key("protocol");
  w.Int(exchange_protocol);
  write_messages(w, req.messages);
  w.Key("merkle");
  if (!trie.empty()) {
    w.RawValue(trie.data(), trie.size(), rapidjson::kObjectType);
  } else {
    w.StartObject();
    w.Key("hash");
    w.Int(static_cast<int32_t>(root));
    w.EndObject();
  }
  if (!req.hub.empty()) {
    w.Key("hub");
    write_string(w, req.hub);
  }
  if (req.after) {
    w.Key("after");
    w.Uint64(*req.after);
  }
  if (req.page > 0) {
    w.Key("page");
    w.Uint64(req.page);
  }
  if (!req.compare.empty()) {
    w.Key("compare");
    w.StartArray();
    for (const auto& [key, hash] : req.compare) {
      w.StartArray();
      write_string(w, key);
      w.Int(static_cast<int32_t>(hash));
      w.EndArray();
    }
    w.EndArray();
  }
  if (!req.ranges.empty())
    write_ranges(w, req.ranges);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string write_exchange_answer(const exchange_answer& ans) {
  rapidjson::StringBuffer buf;
  json_writer w{buf};
  w.StartObject();
  w.Key("status");
  w.String("ok");
  w.Key("protocol");
  w.Int(exchange_protocol);
  w.Key("data");
  w.StartObject();
  w.Key("hub");
  write_string(w, ans.hub);
  w.Key("root");
  w.Int(static_cast<int32_t>(ans.root));
  w.Key("head");
  w.Uint64(ans.head);
  w.Key("next");
  w.Uint64(ans.next);
  w.Key("more");
  w.Bool(ans.more);
  write_messages(w, ans.messages);
  if (!ans.children.empty()) {
    w.Key("children");
    w.StartArray();
    for (const auto& c : ans.children) {
      w.StartArray();
      write_string(w, c.key);
      w.StartArray();
      for (const auto& h : c.children)
        if (h)
          w.Int(static_cast<int32_t>(*h));
        else
          w.Null();
      w.EndArray();
      w.EndArray();
    }
    w.EndArray();
  }
  if (!ans.ranges.empty())
    write_ranges(w, ans.ranges);
  w.EndObject();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

caf::expected<std::variant<exchange_request, sync_request>>
parse_sync_call(std::string_view body) {
  rapidjson::Document doc;
  if (auto err = parse_json_object(body, doc))
    return err;
  if (asks_for_exchange(doc)) {
    auto req = read_exchange_request(doc);
    if (!req)
      return req.error();
    return std::variant<exchange_request, sync_request>{std::move(*req)};
  }
  auto req = read_sync_request(doc);
  if (!req)
    return req.error();
  return std::variant<exchange_request, sync_request>{std::move(*req)};
}

caf::expected<std::variant<exchange_answer, sync_response>>
parse_sync_answer(std::string_view body) {
  rapidjson::Document doc;
  if (auto err = parse_json_object(body, doc))
    return make_error(ec::sync_failure, "hub answer: " + describe(err));
  auto status = read_string(doc, "status");
  if (!status)
    return make_error(ec::sync_failure, "hub answer lacks a status");
  if (*status != "ok")
    return make_error(
        ec::sync_failure,
        "hub refused: "
            + read_string(doc, "reason").value_or("no reason given"));
  auto data = doc.FindMember("data");
  if (data == doc.MemberEnd() || !data->value.IsObject())
    return make_error(ec::sync_failure, "hub answer lacks data");
  using result = std::variant<exchange_answer, sync_response>;
  if (asks_for_exchange(doc)) {
    auto ans = read_exchange_answer(data->value);
    if (!ans)
      return make_error(ec::sync_failure,
                        "hub answer: " + describe(ans.error()));
    return result{std::move(*ans)};
  }
  auto ans = read_sync_response(data->value);
  if (!ans)
    return ans.error();
  return result{std::move(*ans)};
}

} // namespace crdt
