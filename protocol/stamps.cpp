#include "protocol/stamps.hpp"

#include "protocol/schema.hpp"

#include <algorithm>

namespace crdt {

namespace {

// Lengths are written as unsigned LEB128 varints.
void put_length(std::string& out, size_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

bool get_length(std::string_view& in, size_t& n) {
  n = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (in.empty())
      return false;
    auto byte = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    n |= static_cast<size_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0)
      return true;
  }
  return false;
}

bool get_string(std::string_view& in, std::string& out) {
  size_t n = 0;
  if (!get_length(in, n) || n > in.size())
    return false;
  out.assign(in.data(), n);
  in.remove_prefix(n);
  return true;
}

// The current encoding starts with these two bytes; the first encoding
// (still read) started with the varint length of a field name, which is
// never empty.
constexpr std::string_view marker{"\x00\xfe", 2};

// First encoding: (field, timestamp) pairs, each string length-prefixed.
bool decode_plain(std::string_view bytes,
                  std::vector<std::pair<std::string, std::string>>& out) {
  while (!bytes.empty()) {
    std::pair<std::string, std::string> cell;
    if (!get_string(bytes, cell.first) || !get_string(bytes, cell.second))
      return false;
    out.push_back(std::move(cell));
  }
  return true;
}

// Current encoding: after the marker, per cell the field (length-prefixed)
// and its timestamp front- and back-coded against the previous cell's:
// the lengths of the prefix and of the suffix it shares with it, then the
// bytes in between. A record's timestamps usually share their time and
// node and differ in a counter digit or two, so a 46-byte timestamp
// mostly takes 5 bytes.
bool decode_coded(std::string_view bytes,
                  std::vector<std::pair<std::string, std::string>>& out) {
  std::string_view prev;
  while (!bytes.empty()) {
    std::pair<std::string, std::string> cell;
    size_t prefix = 0;
    size_t suffix = 0;
    size_t middle = 0;
    if (!get_string(bytes, cell.first) || !get_length(bytes, prefix)
        || !get_length(bytes, suffix) || !get_length(bytes, middle)
        || prefix > prev.size() || suffix > prev.size() - prefix
        || middle > bytes.size())
      return false;
    auto& ts = cell.second;
    ts.reserve(prefix + middle + suffix);
    ts.append(prev.data(), prefix);
    ts.append(bytes.data(), middle);
    ts.append(prev.data() + prev.size() - suffix, suffix);
    bytes.remove_prefix(middle);
    out.push_back(std::move(cell));
    prev = out.back().second;
  }
  return true;
}

} // namespace

bool record_stamps::decode(std::string_view bytes, record_stamps& out) {
  out.cells_.clear();
  // Marked bytes are coded or corrupt: the first encoding never starts
  // with a zero byte, so reading them that way could only misread.
  if (bytes.substr(0, marker.size()) == marker) {
    if (decode_coded(bytes.substr(marker.size()), out.cells_))
      return true;
    out.cells_.clear();
    return false;
  }
  if (decode_plain(bytes, out.cells_))
    return true;
  out.cells_.clear();
  return false;
}

std::string record_stamps::encode() const {
  std::string out;
  size_t size = marker.size();
  for (const auto& [field, ts] : cells_)
    size += field.size() + ts.size() + 4;
  out.reserve(size);
  out += marker;
  std::string_view prev;
  for (const auto& [field, ts] : cells_) {
    put_length(out, field.size());
    out += field;
    size_t limit = std::min(prev.size(), ts.size());
    size_t prefix = 0;
    while (prefix < limit && prev[prefix] == ts[prefix])
      ++prefix;
    size_t suffix = 0;
    while (suffix < limit - prefix
           && prev[prev.size() - 1 - suffix] == ts[ts.size() - 1 - suffix])
      ++suffix;
    put_length(out, prefix);
    put_length(out, suffix);
    put_length(out, ts.size() - prefix - suffix);
    out.append(ts, prefix, ts.size() - prefix - suffix);
    prev = ts;
  }
  return out;
}

std::string_view record_stamps::get(std::string_view field) const {
  for (const auto& [f, ts] : cells_)
    if (f == field)
      return ts;
  return {};
}

bool record_stamps::offer(std::string_view field, std::string_view ts) {
  auto it = std::find_if(cells_.begin(), cells_.end(),
                         [&](const auto& c) { return c.first == field; });
  if (it == cells_.end()) {
    cells_.emplace_back(std::string{field}, std::string{ts});
    return true;
  }
  bool wins = is_creation_field(field) ? ts < it->second : ts > it->second;
  if (wins)
    it->second.assign(ts.data(), ts.size());
  return wins;
}

} // namespace crdt
