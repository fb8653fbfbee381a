// Load generator and probe for a hub's POST /sync:
//
//   bench_sync <host> <port> <group> <preload> <probe-calls> <clients>
//              <batches> [size=1000]
//
// 1. preload: stores <preload> messages from one writer, 1,000 per call,
//    spread over past minutes (1,000 messages per minute);
// 2. probe: the cost of a sync that finds nothing new and of one that pulls
//    one new message (median ms of <probe-calls> calls, answer sizes);
// 3. ingest: <clients> threads each post <batches> batches of <size> new
//    messages under one client id; prints messages/s.
//
// The client keeps its own merkle trie of everything it stored (preload
// included), so the hub answers only what the client lacks, as in real use.

#include "protocol/merkle.hpp"
#include "protocol/sync.hpp"
#include "protocol/timestamp.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace crdt;

namespace {

struct connection {
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  std::string host;

  connection(const std::string& h, const std::string& port) : host(h) {
    tcp::resolver r{ioc};
    stream.connect(r.resolve(h, port));
  }

  // Posts a body, returns the answer body (exits on any failure).
  std::string post(std::string body) {
    http::request<http::string_body> req{http::verb::post, "/sync", 11};
    req.set(http::field::host, host);
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(stream, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 31);
    http::read(stream, buffer, parser);
    auto res = parser.release();
    if (res.result_int() != 200) {
      std::fprintf(stderr, "bench_sync: hub answered %u: %.200s\n",
                   res.result_int(), res.body().c_str());
      std::exit(1);
    }
    return std::move(res.body());
  }
};

/// A writer with its own clock and trie.
struct writer {
  hlc clock;
  merkle_trie trie;
  std::mutex mtx;

  explicit writer(std::string node) {
    clock.last.node = std::move(node);
  }

  std::vector<message> batch(size_t n, int64_t at) {
    std::lock_guard<std::mutex> guard{mtx};
    std::vector<message> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      auto ts = send(clock, at);
      if (!ts) { // counter full for this millisecond: move on by one
        ++at;
        ts = send(clock, at);
      }
      auto text = to_string(*ts);
      trie.insert(text, ts->millis);
      out.push_back({text, "contacts", "01JAR2HPE7JJS1HYQZ7FYK0S4D",
                     "first_name", value{std::string{"v"}}});
    }
    return out;
  }

  std::string trie_json() {
    std::lock_guard<std::mutex> guard{mtx};
    return trie.to_json();
  }
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

const char* client_node = "b0b0b0b0b0b0b0b0";

// Takes in what the hub already holds of the group (a node founds its
// default organization and admin at first start), so that the probe's
// "nothing new" really finds nothing.
void adopt(connection& c, writer& w, const std::string& group) {
  auto r = parse_sync_response(
      c.post(write_sync_request(group, client_node, {}, "{}")));
  if (!r) {
    std::fprintf(stderr, "bench_sync: unreadable /sync answer\n");
    std::exit(1);
  }
  std::lock_guard<std::mutex> guard{w.mtx};
  for (const auto& m : r->messages)
    if (auto ts = parse_timestamp(m.timestamp))
      w.trie.insert(m.timestamp, ts->millis);
}

void preload(connection& c, writer& w, const std::string& group, long total) {
  // 1,000 messages per minute, ending an hour ago.
  auto start = std::chrono::steady_clock::now();
  int64_t minutes = std::max<long>(1, total / 1000);
  int64_t t0 = wall_clock_ms() - 3600000 - minutes * 60000;
  for (long done = 0; done < total; done += 1000) {
    auto msgs
        = w.batch(std::min<long>(1000, total - done), t0 + done / 1000 * 60000);
    c.post(write_sync_request(group, client_node, msgs, w.trie_json()));
  }
  std::printf("preload: %ld messages in %.1f s (%.0f messages/s)\n", total,
              seconds_since(start), total / seconds_since(start));
}

void probe(connection& c, writer& w, const std::string& group, int calls) {
  auto median = [](std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    return xs[xs.size() / 2];
  };
  auto trie_json = w.trie_json();
  // Nothing new: the client already has everything the hub has.
  std::vector<double> nothing;
  size_t nothing_bytes = 0;
  for (int i = 0; i < calls; ++i) {
    auto t = std::chrono::steady_clock::now();
    auto body = c.post(write_sync_request(group, client_node, {}, trie_json));
    nothing_bytes = body.size();
    auto r = parse_sync_response(body);
    if (!r || !r->messages.empty() || r->merkle.hash() != w.trie.hash()) {
      std::fprintf(stderr,
                   "bench_sync: the hub holds something the client "
                   "does not (%zu messages)\n",
                   r ? r->messages.size() : 0);
      std::exit(1);
    }
    nothing.push_back(seconds_since(t) * 1000);
  }
  // One new message: another writer adds one (a little apart, so that most
  // pulls find it alone in its minute), the client pulls it.
  writer other{"c0c0c0c0c0c0c0c0"};
  std::vector<double> one;
  size_t one_bytes = 0;
  for (int i = 0; i < calls; ++i) {
    auto msg = other.batch(1, wall_clock_ms());
    c.post(write_sync_request(group, "c0c0c0c0c0c0c0c0", msg, trie_json));
    auto t = std::chrono::steady_clock::now();
    auto body = c.post(write_sync_request(group, client_node, {}, trie_json));
    one.push_back(seconds_since(t) * 1000);
    one_bytes = body.size();
    // The hub answers from the start of the differing minute, so messages
    // of that minute the client already has come along; the new one must.
    auto r = parse_sync_response(body);
    if (!r
        || std::none_of(r->messages.begin(), r->messages.end(),
                        [&](const message& m) {
                          return m.timestamp == msg[0].timestamp;
                        })) {
      std::fprintf(stderr, "bench_sync: the new message did not come\n");
      std::exit(1);
    }
    w.trie.insert(msg[0].timestamp, parse_timestamp(msg[0].timestamp)->millis);
    trie_json = w.trie.to_json();
  }
  std::printf("probe: nothing new %.2f ms (answer %zu bytes), one new message "
              "%.2f ms (answer %zu bytes), trie %zu nodes\n",
              median(nothing), nothing_bytes, median(one), one_bytes,
              w.trie.size());
}

void ingest(const std::string& host, const std::string& port, writer& w,
            const std::string& group, int clients, long batches, size_t size) {
  std::atomic<long> sent{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&] {
      connection c{host, port};
      for (long b = 0; b < batches; ++b) {
        auto msgs = w.batch(size, wall_clock_ms());
        c.post(write_sync_request(group, client_node, msgs, w.trie_json()));
        sent += static_cast<long>(size);
      }
    });
  for (auto& t : threads)
    t.join();
  auto secs = seconds_since(start);
  std::printf("ingest: %ld messages from %d clients in batches of %zu in "
              "%.1f s: %.0f messages/s\n",
              sent.load(), clients, size, secs, sent / secs);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: bench_sync <host> <port> <group> <preload> "
                         "<probe-calls> <clients> <batches> [size]\n");
    return 2;
  }
  std::string host = argv[1], port = argv[2], group = argv[3];
  long total = std::atol(argv[4]);
  int calls = std::atoi(argv[5]);
  int clients = std::atoi(argv[6]);
  long batches = std::atol(argv[7]);
  size_t size = argc > 8 ? std::strtoul(argv[8], nullptr, 10) : 1000;
  writer w{client_node};
  connection c{host, port};
  adopt(c, w, group);
  preload(c, w, group, total);
  if (calls > 0)
    probe(c, w, group, calls);
  if (clients > 0)
    ingest(host, port, w, group, clients, batches, size);
  return 0;
}
