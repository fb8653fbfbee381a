#pragma once

// The winning timestamp of every field of one record, kept as one value
// per record (instead of one row per field), and the last-writer-wins
// decision made against it. Pure logic: storage/write_store.cpp keeps one
// encoded value per (dataset, row) in crdt_stamps.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crdt {

/// Field name -> timestamp (wire form) of the message that set it, for one
/// record. Few fields per record: a flat vector beats a map here.
class record_stamps {
public:
  /// Decodes what encode() produced; false (and an empty value) on bytes
  /// that are not such an encoding.
  static bool decode(std::string_view bytes, record_stamps& out);

  /// A compact encoding of every (field, timestamp): timestamps are coded
  /// against the previous one (shared prefix and suffix), so that a
  /// record's ten stamps from one write take about 220 bytes, not 590.
  std::string encode() const;

  /// The timestamp of `field`, empty if no message set it yet.
  std::string_view get(std::string_view field) const;

  /// Offers a message for `field` stamped `ts`: it wins when the field has
  /// no timestamp yet, or (last writer wins) when `ts` is greater, or, for
  /// a creation fact (is_creation_field), when it is smaller. A winner is
  /// recorded; answers whether it won. Equal timestamps never win: the
  /// same message applied twice changes nothing.
  bool offer(std::string_view field, std::string_view ts);

  size_t size() const {
    return cells_.size();
  }

private:
  std::vector<std::pair<std::string, std::string>> cells_;
};

} // namespace crdt
