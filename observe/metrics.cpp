#include "observe/metrics.hpp"

#include <cmath>
#include <cstring>

namespace crdt {

namespace {

/// Beyond this many distinct groups the hub stops remembering new ones
/// (the gauge then reads "at least"): a bound on memory, not a limit on
/// groups served.
constexpr size_t max_counted_groups = 65536;

uint64_t bits_of(double v) {
  uint64_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

double double_of(uint64_t b) {
  double v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}

// A method as a label: the common ones, anything else "other", so that a
// client inventing methods cannot grow the series. Always one of these
// literals, never a view of the caller's text.
std::string_view method_label(std::string_view m) {
  for (auto known :
       {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
    if (m == known)
      return known;
  return "other";
}

// A number the way Prometheus reads it.
std::string number(double v) {
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v))
    return "NaN";
  // Counts print exactly, however large (a byte counter passes 1e10).
  if (v >= 0 && v < 1.8e19 && v == std::floor(v))
    return std::to_string(static_cast<uint64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// A label value with \, " and newlines escaped.
std::string escaped(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"')
      out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

class writer {
public:
  explicit writer(std::string& out) : out_(out) {}

  void head(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }

  void sample(const std::string& name, const std::string& labels, double v) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += number(v);
    out_ += '\n';
  }

  // A family of one unlabelled sample.
  void single(const char* name, const char* type, const char* help, double v) {
    head(name, type, help);
    sample(name, "", v);
  }

  void histogram_samples(const std::string& name, const std::string& labels,
                         const histogram& h) {
    auto cum = h.cumulative();
    auto sep = labels.empty() ? std::string{} : labels + ",";
    for (size_t i = 0; i < h.bounds().size(); ++i)
      sample(name + "_bucket", sep + "le=\"" + number(h.bounds()[i]) + "\"",
             static_cast<double>(cum[i]));
    sample(name + "_bucket", sep + "le=\"+Inf\"",
           static_cast<double>(cum.back()));
    sample(name + "_sum", labels, h.sum());
    sample(name + "_count", labels, static_cast<double>(cum.back()));
  }

private:
  std::string& out_;
};

} // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1) {}

histogram::histogram(const histogram& other)
    : bounds_(other.bounds_), buckets_(other.bounds_.size() + 1) {
  for (size_t i = 0; i < buckets_.size(); ++i)
    buckets_[i].store(other.buckets_[i].load(std::memory_order_relaxed),
                      std::memory_order_relaxed);
  sum_bits_.store(other.sum_bits_.load(std::memory_order_relaxed),
                  std::memory_order_relaxed);
}

void histogram::observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i])
    ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  auto old = sum_bits_.load(std::memory_order_relaxed);
  while (!sum_bits_.compare_exchange_weak(old, bits_of(double_of(old) + v),
                                          std::memory_order_relaxed))
    ;
}

std::vector<uint64_t> histogram::cumulative() const {
  std::vector<uint64_t> out(buckets_.size());
  uint64_t total = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    total += buckets_[i].load(std::memory_order_relaxed);
    out[i] = total;
  }
  return out;
}

double histogram::sum() const {
  return double_of(sum_bits_.load(std::memory_order_relaxed));
}

uint64_t histogram::count() const {
  return cumulative().back();
}

std::vector<double> duration_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}


metrics::metrics()
    : commit_batches_({1, 2, 4, 8, 16, 32, 64, 128, 256})
    , commit_seconds_(duration_buckets()) {}

metrics& metrics::process() {
  static metrics instance;
  return instance;
}

void metrics::http_request(std::string_view route, std::string_view method,
                           unsigned status, double seconds) {
  if (route.empty())
    route = "unmatched";
  std::lock_guard<std::mutex> guard{http_mutex_};
  auto it = routes_.find(route);
  if (it == routes_.end())
    it = routes_.emplace(std::string{route}, route_series{}).first;
  // method_label answers one of its own literals: no copy needed.
  ++it->second.answers[{method_label(method), status}];
  it->second.durations.observe(seconds);
}

void metrics::commit(size_t batches, double seconds, uint64_t stored) {
  commit_batches_.observe(static_cast<double>(batches));
  commit_seconds_.observe(seconds);
  messages_stored_.add(stored);
}

void metrics::sync_round(bool ok, int64_t now_ms) {
  sync_rounds_[ok ? 1 : 0].add();
  if (ok)
    sync_last_ok_ms_.store(now_ms, std::memory_order_relaxed);
}

void metrics::hub_request(std::string_view protocol, const std::string& group,
                          size_t messages_in) {
  hub_messages_received_.add(messages_in);
  std::lock_guard<std::mutex> guard{hub_mutex_};
  ++hub_requests_[std::string{protocol}];
  if (hub_groups_.size() < max_counted_groups)
    hub_groups_.insert(group);
}

std::string metrics::render(const scrape_facts& facts) const {
  std::string out;
  out.reserve(8192);
  writer w{out};
  {
    std::lock_guard<std::mutex> guard{http_mutex_};
    w.head("crdt_store_http_requests_total", "counter",
           "HTTP requests answered, by route pattern, method and status.");
    for (const auto& [route, series] : routes_)
      for (const auto& [k, n] : series.answers)
        w.sample("crdt_store_http_requests_total",
                 "route=\"" + escaped(route) + "\",method=\""
                     + std::string{k.first} + "\",status=\""
                     + std::to_string(k.second) + "\"",
                 static_cast<double>(n));
    w.head("crdt_store_http_request_duration_seconds", "histogram",
           "Time from a request's head to its answer, by route pattern.");
    for (const auto& [route, series] : routes_)
      w.histogram_samples("crdt_store_http_request_duration_seconds",
                          "route=\"" + escaped(route) + "\"", series.durations);
  }
  w.head("crdt_store_writer_commit_batches", "histogram",
         "Write batches (requests, sync pages) taken by one group commit.");
  w.histogram_samples("crdt_store_writer_commit_batches", "", commit_batches_);
  w.head("crdt_store_writer_commit_duration_seconds", "histogram",
         "Time one group commit took, transaction and fsync included.");
  w.histogram_samples("crdt_store_writer_commit_duration_seconds", "",
                      commit_seconds_);
  w.single("crdt_store_writer_messages_stored_total", "counter",
           "New messages stored in the logs since start.",
           static_cast<double>(messages_stored_.value()));
  w.single("crdt_store_log_messages", "gauge",
           "Messages held in the logs, this node's group and relayed groups.",
           static_cast<double>(facts.log_messages));
  w.single("crdt_store_outbox_messages", "gauge",
           "Messages of this node not yet acknowledged by its hub.",
           static_cast<double>(facts.outbox));

  w.single("crdt_store_sync_enabled", "gauge",
           "1 when SYNC_ENABLED is on (rounds run only with an endpoint too).",
           facts.sync_enabled ? 1 : 0);
  w.head("crdt_store_sync_rounds_total", "counter",
         "Sync rounds with the hub, by outcome.");
  w.sample("crdt_store_sync_rounds_total", "outcome=\"ok\"",
           static_cast<double>(sync_rounds_[1].value()));
  w.sample("crdt_store_sync_rounds_total", "outcome=\"failed\"",
           static_cast<double>(sync_rounds_[0].value()));
  w.single("crdt_store_sync_sent_bytes_total", "counter",
           "Request bodies sent to the hub.",
           static_cast<double>(sync_bytes_sent.value()));
  w.single("crdt_store_sync_received_bytes_total", "counter",
           "Answer bodies received from the hub.",
           static_cast<double>(sync_bytes_received.value()));
  w.single("crdt_store_sync_received_messages_total", "counter",
           "Messages received from the hub.",
           static_cast<double>(sync_messages_received.value()));
  auto last_ok = sync_last_ok_ms_.load(std::memory_order_relaxed);
  w.single("crdt_store_sync_last_success_timestamp_seconds", "gauge",
           "When the last successful sync round ended (0: never).",
           static_cast<double>(last_ok) / 1000.0);
  if (last_ok > 0) {
    w.single("crdt_store_sync_last_success_age_seconds", "gauge",
             "Seconds since the last successful sync round ended.",
             static_cast<double>(std::max<int64_t>(0, facts.now_ms - last_ok))
                 / 1000.0);
  }
  {
    std::lock_guard<std::mutex> guard{hub_mutex_};
    w.head("crdt_store_hub_requests_total", "counter",
           "POST /sync requests served as a hub, by protocol.");
    for (auto protocol : {"exchange", "legacy"}) {
      auto it = hub_requests_.find(protocol);
      w.sample("crdt_store_hub_requests_total",
               std::string{"protocol=\""} + protocol + "\"",
               it == hub_requests_.end() ? 0.0
                                         : static_cast<double>(it->second));
    }
    w.single("crdt_store_hub_groups", "gauge",
             "Groups served as a hub since start, this node's own included.",
             static_cast<double>(hub_groups_.size()));
  }
  w.single("crdt_store_hub_received_messages_total", "counter",
           "Messages pushed to this node as a hub.",
           static_cast<double>(hub_messages_received_.value()));
  w.single("crdt_store_hub_sent_messages_total", "counter",
           "Messages answered to nodes syncing through this hub.",
           static_cast<double>(hub_messages_sent.value()));

  w.single("crdt_store_feed_subscribers", "gauge",
           "Change feed streams and long polls open now.",
           static_cast<double>(feed_subscribers.load()));
  w.single("crdt_store_feed_events_sent_total", "counter",
           "Change events written to feed subscribers.",
           static_cast<double>(feed_events_sent.value()));
  w.single("crdt_store_feed_subscribers_cut_total", "counter",
           "Feed streams closed because the client read too slowly.",
           static_cast<double>(feed_subscribers_cut.value()));

  w.single("crdt_store_login_failures_total", "counter",
           "Logins refused for a wrong email or password.",
           static_cast<double>(login_failures.value()));
  w.single("crdt_store_logins_throttled_total", "counter",
           "Logins refused because of earlier failures or too many at once.",
           static_cast<double>(logins_throttled.value()));
  return out;
}

} // namespace crdt
