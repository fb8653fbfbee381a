// Compares our protocol core with Actual Budget's @actual-app/crdt on the
// sets generate.mjs produced: per-timestamp murmur3 hashes, the merkle trie
// JSON byte for byte, and merkle diff results (both directions).
// Usage: crosscheck <generated.json>; prints "N passed, N failed".

#include "protocol/merkle.hpp"
#include "protocol/murmur3.hpp"
#include "protocol/timestamp.hpp"

#include <rapidjson/document.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

using namespace crdt;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: crosscheck <generated.json>\n";
    return 2;
  }
  std::ifstream in{argv[1]};
  std::stringstream ss;
  ss << in.rdbuf();
  rapidjson::Document doc;
  doc.Parse(ss.str().c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    std::cerr << "crosscheck: cannot parse " << argv[1] << "\n";
    return 2;
  }
  size_t passed = 0, failed = 0;
  auto check = [&](bool ok, const std::string& what) {
    if (ok) {
      ++passed;
    } else {
      ++failed;
      if (failed <= 20)
        std::cerr << "FAIL " << what << "\n";
    }
  };
  std::vector<merkle_trie> tries;
  const auto& sets = doc["sets"];
  for (rapidjson::SizeType i = 0; i < sets.Size(); ++i) {
    const auto& set = sets[i];
    const auto& stamps = set["stamps"];
    const auto& hashes = set["hashes"];
    merkle_trie trie;
    for (rapidjson::SizeType k = 0; k < stamps.Size(); ++k) {
      std::string text = stamps[k].GetString();
      auto ts = parse_timestamp(text);
      check(ts && to_string(*ts) == text,
            "set " + std::to_string(i) + ": timestamp round trip " + text);
      if (!ts)
        continue;
      check(murmur3_32(text) == hashes[k].GetUint(),
            "set " + std::to_string(i) + ": murmur3 of " + text);
      trie.insert(text, ts->millis);
    }
    std::string theirs = set["trie"].GetString();
    auto ours = trie.to_json();
    check(ours == theirs, "set " + std::to_string(i) + ": trie JSON\n  ours   "
                              + ours.substr(0, 200) + "\n  theirs "
                              + theirs.substr(0, 200));
    // Reading their JSON back must give the same trie.
    rapidjson::Document t;
    t.Parse(theirs.c_str());
    auto parsed = merkle_trie::from_json(t);
    check(parsed && parsed->to_json() == theirs,
          "set " + std::to_string(i) + ": trie JSON read back");
    tries.push_back(std::move(trie));
  }
  for (const auto& d : doc["diffs"].GetArray()) {
    auto a = d["a"].GetUint();
    auto b = d["b"].GetUint();
    auto ours = diff(tries[a], tries[b]);
    bool same = d["d"].IsNull() ? !ours : ours && *ours == d["d"].GetInt64();
    check(same,
          "diff(" + std::to_string(a) + ", " + std::to_string(b) + "): ours "
              + (ours ? std::to_string(*ours) : "null") + ", theirs "
              + (d["d"].IsNull() ? "null" : std::to_string(d["d"].GetInt64())));
  }
  std::cout << "crosscheck against @actual-app/crdt: " << sets.Size()
            << " sets, " << doc["diffs"].Size() << " diffs\n"
            << passed << " passed, " << failed << " failed" << std::endl;
  return failed == 0 && passed > 0 ? 0 : 1;
}
