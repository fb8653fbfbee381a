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

} // namespace

bool record_stamps::decode(std::string_view bytes, record_stamps& out) {
  out.cells_.clear();
  while (!bytes.empty()) {
    std::pair<std::string, std::string> cell;
    if (!get_string(bytes, cell.first) || !get_string(bytes, cell.second)) {
      out.cells_.clear();
      return false;
    }
    out.cells_.push_back(std::move(cell));
  }
  return true;
}

std::string record_stamps::encode() const {
  std::string out;
  size_t size = 0;
  for (const auto& [field, ts] : cells_)
    size += field.size() + ts.size() + 4;
  out.reserve(size);
  for (const auto& [field, ts] : cells_) {
    put_length(out, field.size());
    out += field;
    put_length(out, ts.size());
    out += ts;
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
