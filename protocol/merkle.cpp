#include "protocol/merkle.hpp"

#include "protocol/error.hpp"
#include "protocol/murmur3.hpp"

#include <algorithm>
#include <cstring>

namespace crdt {

std::string merkle_key(int64_t millis) {
  int64_t minutes = millis / 60000;
  if (minutes <= 0)
    return "0";
  std::string out;
  while (minutes > 0) {
    out.push_back(static_cast<char>('0' + minutes % 3));
    minutes /= 3;
  }
  return {out.rbegin(), out.rend()};
}

merkle_trie::merkle_trie() : root_(std::make_unique<node>()) {
  // nop
}

namespace {

std::unique_ptr<merkle_trie::node> clone_node(const merkle_trie::node& n) {
  auto out = std::make_unique<merkle_trie::node>();
  out->hash = n.hash;
  for (size_t i = 0; i < 3; ++i)
    if (n.children[i])
      out->children[i] = clone_node(*n.children[i]);
  return out;
}

size_t count_nodes(const merkle_trie::node& n) {
  size_t result = 1;
  for (const auto& c : n.children)
    if (c)
      result += count_nodes(*c);
  return result;
}

void write_node(const merkle_trie::node& n,
                rapidjson::Writer<rapidjson::StringBuffer>& out) {
  out.StartObject();
  static const char* names[] = {"0", "1", "2"};
  for (size_t i = 0; i < 3; ++i) {
    if (n.children[i]) {
      out.Key(names[i], 1);
      write_node(*n.children[i], out);
    }
  }
  out.Key("hash", 4);
  out.Int(static_cast<int32_t>(n.hash));
  out.EndObject();
}

caf::error parse_node(const rapidjson::Value& v, merkle_trie::node& n,
                      size_t depth_left) {
  if (!v.IsObject())
    return make_error(ec::bad_request, "merkle: node is not an object");
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    std::string_view key{it->name.GetString(), it->name.GetStringLength()};
    if (key == "hash") {
      const auto& h = it->value;
      if (h.IsInt())
        n.hash = static_cast<uint32_t>(h.GetInt());
      else if (h.IsUint())
        n.hash = h.GetUint();
      else
        return make_error(ec::bad_request, "merkle: hash is not a 32-bit int");
    } else if (key.size() == 1 && key[0] >= '0' && key[0] <= '2') {
      if (depth_left == 0)
        return make_error(ec::bad_request, "merkle: trie too deep");
      auto child = std::make_unique<merkle_trie::node>();
      if (auto err = parse_node(it->value, *child, depth_left - 1))
        return err;
      n.children[static_cast<size_t>(key[0] - '0')] = std::move(child);
    } else {
      return make_error(ec::bad_request, "merkle: unexpected key");
    }
  }
  return caf::none;
}

} // namespace

merkle_trie merkle_trie::clone() const {
  merkle_trie out;
  out.root_ = clone_node(*root_);
  return out;
}

void merkle_trie::insert(std::string_view timestamp_text, int64_t millis) {
  insert_hash(merkle_key(millis), murmur3_32(timestamp_text));
}

void merkle_trie::insert_hash(std::string_view key, uint32_t hash) {
  node* n = root_.get();
  n->hash ^= hash;
  for (char c : key) {
    auto& child = n->children[static_cast<size_t>(c - '0')];
    if (!child)
      child = std::make_unique<node>();
    n = child.get();
    n->hash ^= hash;
  }
}

merkle_trie::node& merkle_trie::path(std::string_view key) {
  node* n = root_.get();
  for (char c : key) {
    if (c < '0' || c > '2')
      break; // not a base-3 key (a corrupt row): stop at the valid prefix
    auto& child = n->children[static_cast<size_t>(c - '0')];
    if (!child)
      child = std::make_unique<node>();
    n = child.get();
  }
  return *n;
}

const merkle_trie::node* merkle_trie::find(std::string_view key) const {
  const node* n = root_.get();
  for (char c : key) {
    if (c < '0' || c > '2')
      return nullptr;
    n = n->children[static_cast<size_t>(c - '0')].get();
    if (!n)
      return nullptr;
  }
  return n;
}

void merkle_trie::set_node(std::string_view key, uint32_t hash) {
  path(key).hash = hash;
}

void merkle_trie::xor_node(std::string_view key, uint32_t delta) {
  path(key).hash ^= delta;
}

size_t merkle_trie::size() const {
  return count_nodes(*root_);
}

void merkle_trie::write_json(
    rapidjson::Writer<rapidjson::StringBuffer>& out) const {
  write_node(*root_, out);
}

std::string merkle_trie::to_json() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  write_json(w);
  return {buf.GetString(), buf.GetSize()};
}

caf::expected<merkle_trie> merkle_trie::from_json(const rapidjson::Value& v,
                                                  size_t max_depth) {
  merkle_trie out;
  if (auto err = parse_node(v, *out.root_, max_depth))
    return err;
  return out;
}

namespace {

// A key prefix padded with '0' to 16 digits, read as minutes in base 3.
int64_t key_to_millis(std::string key) {
  if (key.size() < merkle_key_digits)
    key.append(merkle_key_digits - key.size(), '0');
  int64_t minutes = 0;
  for (char c : key)
    minutes = minutes * 3 + (c - '0');
  return minutes * 60000;
}

} // namespace

std::optional<int64_t> diff(const merkle_trie& a, const merkle_trie& b) {
  if (a.hash() == b.hash())
    return std::nullopt;
  const merkle_trie::node* n1 = &a.root();
  const merkle_trie::node* n2 = &b.root();
  std::string prefix;
  static const merkle_trie::node empty;
  for (;;) {
    // Keys of both sides in sorted order; stop at the first one that a side
    // lacks, descend into the first whose hashes differ.
    int diff_key = -1;
    for (size_t i = 0; i < 3; ++i) {
      const auto* c1 = n1->children[i].get();
      const auto* c2 = n2->children[i].get();
      if (!c1 && !c2)
        continue;
      if (!c1 || !c2)
        break;
      if (c1->hash != c2->hash) {
        diff_key = static_cast<int>(i);
        break;
      }
    }
    if (diff_key < 0)
      return key_to_millis(prefix);
    prefix.push_back(static_cast<char>('0' + diff_key));
    const auto* c1 = n1->children[static_cast<size_t>(diff_key)].get();
    const auto* c2 = n2->children[static_cast<size_t>(diff_key)].get();
    n1 = c1 ? c1 : &empty;
    n2 = c2 ? c2 : &empty;
  }
}

std::optional<int64_t> first_difference(const merkle_trie& a,
                                        const merkle_trie& b) {
  if (a.hash() == b.hash())
    return std::nullopt;
  // Invariant: the subtrees n1 and n2 (either may be absent) differ.
  const merkle_trie::node* n1 = &a.root();
  const merkle_trie::node* n2 = &b.root();
  std::string prefix;
  for (;;) {
    int next = -1;
    for (size_t i = 0; i < 3 && next < 0; ++i) {
      const auto* c1 = n1 ? n1->children[i].get() : nullptr;
      const auto* c2 = n2 ? n2->children[i].get() : nullptr;
      if ((c1 || c2) && (!c1 || !c2 || c1->hash != c2->hash))
        next = static_cast<int>(i);
    }
    if (next < 0)
      return key_to_millis(prefix); // a differing minute (leaf)
    prefix.push_back(static_cast<char>('0' + next));
    n1 = n1 ? n1->children[static_cast<size_t>(next)].get() : nullptr;
    n2 = n2 ? n2->children[static_cast<size_t>(next)].get() : nullptr;
  }
}

std::vector<std::pair<std::string, uint32_t>>
path_deltas(std::vector<std::pair<std::string_view, uint32_t>> leaves) {
  // Sorted keys visit the trie depth first: the nodes on the path of the
  // current key are open (their place in the output is reserved, in key
  // order), and a node closes once a key leaves its subtree. Every leaf
  // XORs into the nodes open on its path: no map, one string per node.
  std::sort(leaves.begin(), leaves.end());
  std::vector<std::pair<std::string, uint32_t>> out;
  out.reserve(leaves.size() * 2 + 17);
  std::vector<size_t> open; // output positions of the path's nodes, by depth
  std::string_view prev;
  for (const auto& [key, hash] : leaves) {
    size_t common = 0;
    if (!open.empty()) { // not the first leaf: the root is always open
      auto limit = std::min(prev.size(), key.size());
      while (common < limit && prev[common] == key[common])
        ++common;
      // Nodes deeper than the shared prefix are done.
      if (open.size() > common + 1)
        open.resize(common + 1);
    }
    for (size_t len = open.size(); len <= key.size(); ++len) {
      open.push_back(out.size());
      out.emplace_back(std::string{key.substr(0, len)}, 0);
    }
    for (auto at : open)
      out[at].second ^= hash;
    prev = key;
  }
  return out;
}

} // namespace crdt
