#pragma once

// What GET /metrics reports: counters, gauges and histograms that the
// actors and the HTTP layer update as they work, written out in the
// Prometheus text exposition format (version 0.0.4).
//
// Naming follows Prometheus' conventions: a `crdt_store_` prefix, base
// units (seconds, bytes), `_total` for counters. Labels stay bounded: the
// route pattern (never the path), the method, the status, the outcome of a
// sync round, the hub's protocol. No record, organization or group name
// ever becomes a label.
//
// Updates are lock-free atomics except for the per-route series, which
// take a short mutex; a scrape copies everything under the same mutexes.

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace crdt {

/// A monotonically increasing count.
class counter {
public:
  void add(uint64_t n = 1) {
    value_.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t value() const {
    return value_.load(std::memory_order_relaxed);
  }

private:
  std::atomic<uint64_t> value_{0};
};

/// Observations sorted into buckets by upper bound, with their sum and
/// count. The bounds are fixed at construction.
class histogram {
public:
  /// `bounds` must be increasing; +Inf is implicit.
  explicit histogram(std::vector<double> bounds);
  histogram(const histogram& other);
  histogram& operator=(const histogram&) = delete;

  void observe(double v);

  const std::vector<double>& bounds() const {
    return bounds_;
  }
  /// Observations at or below each bound (cumulative), then the count.
  std::vector<uint64_t> cumulative() const;
  double sum() const;
  uint64_t count() const;

private:
  std::vector<double> bounds_;
  /// One per bound plus one for +Inf, not cumulative.
  std::vector<std::atomic<uint64_t>> buckets_;
  std::atomic<uint64_t> sum_bits_{0};
};

/// Seconds buckets for request and commit durations: 0.5 ms to 10 s.
std::vector<double> duration_buckets();

/// Facts read at scrape time rather than counted as they happen.
struct scrape_facts {
  /// Messages waiting to be sent to the hub.
  uint64_t outbox = 0;
  /// Messages held in the logs (own group and relayed groups).
  uint64_t log_messages = 0;
  /// Whether sync is on and has an endpoint.
  bool sync_enabled = false;
  /// Now, in milliseconds since the epoch.
  int64_t now_ms = 0;
};

/// Everything a node counts. One instance per process
/// (`metrics::process()`), shared by every actor and connection; tests
/// may make their own.
class metrics {
public:
  metrics();

  /// The process' instance.
  static metrics& process();

  // -- HTTP ------------------------------------------------------------------

  /// One answered request: `route` is the route pattern ("" when no route
  /// matched), `seconds` from the end of its head to its answer.
  void http_request(std::string_view route, std::string_view method,
                    unsigned status, double seconds);

  // -- the writer ------------------------------------------------------------

  /// One group commit: how many batches it took, how long it ran, how
  /// many new messages it stored.
  void commit(size_t batches, double seconds, uint64_t stored);

  // -- sync (this node as a client of its hub) -------------------------------

  /// One round ended, well or not.
  void sync_round(bool ok, int64_t now_ms);
  counter sync_bytes_sent;
  counter sync_bytes_received;
  counter sync_messages_received;

  // -- the hub role (POST /sync) ----------------------------------------------

  /// One /sync request that passed its checks, for `group` ("" = own).
  void hub_request(std::string_view protocol, const std::string& group,
                   size_t messages_in);
  counter hub_messages_sent;

  // -- the change feed ---------------------------------------------------------

  /// Streams and long polls following a table now (set by the feed).
  std::atomic<uint64_t> feed_subscribers{0};
  /// Change events written to subscribers.
  counter feed_events_sent;
  /// Streams closed because their client read too slowly.
  counter feed_subscribers_cut;

  // -- logins ----------------------------------------------------------------

  counter login_failures;
  counter logins_throttled;

  /// The whole exposition.
  std::string render(const scrape_facts& facts) const;

private:
  /// One route pattern's series: answers by (method label, status), and
  /// durations. Found without allocating once a route has been seen.
  struct route_series {
    std::map<std::pair<std::string_view, unsigned>, uint64_t> answers;
    histogram durations{duration_buckets()};
  };

  mutable std::mutex http_mutex_;
  std::map<std::string, route_series, std::less<>> routes_;

  histogram commit_batches_;
  histogram commit_seconds_;
  counter messages_stored_;

  std::array<counter, 2> sync_rounds_; // failed, ok
  std::atomic<int64_t> sync_last_ok_ms_{0};

  mutable std::mutex hub_mutex_;
  std::map<std::string, uint64_t> hub_requests_;
  /// Groups served since start (ids kept only to count them).
  std::set<std::string> hub_groups_;
  counter hub_messages_received_;
};

} // namespace crdt
