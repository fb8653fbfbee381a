#include "http/feed.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace crdt {

namespace {

using writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(writer& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string id_object(const std::string& id) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.StartObject();
  w.Key("id");
  write_string(w, id);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace

std::string pluck_record(const std::string& record,
                         const std::vector<std::string>& pluck) {
  if (pluck.empty())
    return record;
  rapidjson::Document doc;
  doc.Parse(record.data(), record.size());
  if (doc.HasParseError() || !doc.IsObject())
    return record;
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.StartObject();
  auto put = [&](const std::string& name) {
    auto it = doc.FindMember(name.c_str());
    if (it == doc.MemberEnd())
      return;
    write_string(w, name);
    it->value.Accept(w);
  };
  put("id");
  for (const auto& name : pluck)
    if (name != "id")
      put(name);
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string sse_event(const change_event& e,
                      const std::vector<std::string>& pluck) {
  std::string out;
  if (e.deleted)
    out += "event: delete\n";
  out += "id: " + e.ts + "\n";
  out += "data: ";
  // JSON text never holds a raw line break (they are escaped in strings),
  // so the data fits on one line.
  out += e.deleted ? id_object(e.id) : pluck_record(e.record, pluck);
  out += "\n\n";
  return out;
}

const std::string& sse_event_of(const feed_batch& batch, size_t i) {
  std::call_once(batch.rendered_once, [&] {
    batch.rendered.reserve(batch.events.size());
    for (const auto& e : batch.events)
      batch.rendered.push_back(sse_event(e, {}));
  });
  return batch.rendered[i];
}

std::string sse_up_to_date(const std::string& position_id) {
  std::string out = "event: up-to-date\n";
  if (!position_id.empty())
    out += "id: " + position_id + "\n";
  out += "data: {}\n\n";
  return out;
}

std::string sse_opening(const std::string& table) {
  return ": changes of " + table + "\nretry: 2000\n\n";
}

std::string sse_heartbeat() {
  return ":\n\n";
}

std::string sse_error(unsigned status, const std::string& message) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.StartObject();
  w.Key("status");
  w.Uint(status);
  w.Key("message");
  write_string(w, message);
  w.EndObject();
  return "event: error\ndata: " + std::string{buf.GetString(), buf.GetSize()}
         + "\n\n";
}

std::string poll_body(const std::string& table,
                      const std::vector<change_event>& events,
                      const std::vector<std::string>& pluck,
                      const std::string& last_event_id, bool up_to_date) {
  rapidjson::StringBuffer buf;
  writer w{buf};
  w.StartObject();
  w.Key("success");
  w.Bool(true);
  w.Key("message");
  write_string(w, "Changes of " + table);
  w.Key("count");
  w.Uint64(events.size());
  w.Key("last_event_id");
  write_string(w, last_event_id);
  w.Key("up_to_date");
  w.Bool(up_to_date);
  w.Key("data");
  w.StartArray();
  for (const auto& e : events) {
    w.StartObject();
    w.Key("id");
    write_string(w, e.ts);
    w.Key("type");
    w.String(e.deleted ? "delete" : "change");
    w.Key("record");
    auto rec = e.deleted ? id_object(e.id) : pluck_record(e.record, pluck);
    w.RawValue(rec.data(), rec.size(), rapidjson::kObjectType);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

} // namespace crdt
