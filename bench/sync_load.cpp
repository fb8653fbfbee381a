// Load generator and probe for a hub's POST /sync, in the bounded exchange:
//
//   bench_sync <host> <port[,port...]> <group> <shape> <count> <probe-calls>
//              <clients> <batches> [size=1000] [groups=1]
//
// Preload and probe use the first port; ingest clients take the ports in
// turn (several hub processes), and with groups > 1 client i pushes to group
// "<group>-<i % groups>" (a hub serving many groups).
//
// 1. preload: stores a history through pushes of 2,000 messages: with
//    shape "minutes", one message a minute for <count> minutes back; with
//    "burst", <count> messages inside one minute;
// 2. probe: the bytes and median milliseconds of a call that finds nothing
//    new (a client at the hub's head) and of one that pulls one new
//    message; beside them, the size of the whole trie a client of the
//    crdt-example-app format would post each round;
// 3. ingest: <clients> threads each push <batches> batches of <size> new
//    messages; prints messages/s.

#include "protocol/exchange.hpp"
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

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

exchange_answer answer_of(const std::string& body) {
  auto r = parse_sync_answer(body);
  if (!r || !std::holds_alternative<exchange_answer>(*r)) {
    std::fprintf(stderr, "bench_sync: not an answer of the bounded exchange\n");
    std::exit(1);
  }
  return std::get<exchange_answer>(std::move(*r));
}

message make_message(int64_t at, uint32_t counter, const std::string& node,
                     long i) {
  return {to_string(timestamp{at, counter, node}), "contacts",
          "01JAR2HPE7JJS1HYQZ7FYK" + std::to_string(1000 + i % 9000),
          "first_name", value{std::string{"v"}}};
}

// Pushes messages (no pull) as node `node`; answers the hub's answer.
exchange_answer push(connection& c, const std::string& group,
                     const std::string& node, std::vector<message> msgs) {
  exchange_request req;
  req.group_id = group;
  req.client_id = node;
  req.messages = std::move(msgs);
  return answer_of(c.post(write_exchange_request(req, 0)));
}

const char* writer_node = "a0a0a0a0a0a0a0a0";
const char* client_node = "b0b0b0b0b0b0b0b0";

void preload(connection& c, const std::string& group, const std::string& shape,
             long count, merkle_trie& trie) {
  auto start = std::chrono::steady_clock::now();
  // An hour ago, at the start of a minute plus a second.
  int64_t base = (wall_clock_ms() - 3600000) / 60000 * 60000 + 1000;
  std::vector<message> batch;
  for (long i = 0; i < count; ++i) {
    // A burst: 30,000 messages a millisecond from two writers.
    auto m = shape == "burst"
                 ? make_message(base + i / 60000,
                                static_cast<uint32_t>(i % 60000 / 2),
                                i % 2 ? writer_node : "a1a1a1a1a1a1a1a1", i)
                 : make_message(base - i * 60000, 0, writer_node, i);
    trie.insert(m.timestamp, parse_timestamp(m.timestamp)->millis);
    batch.push_back(std::move(m));
    if (batch.size() == 2000 || i + 1 == count) {
      push(c, group, writer_node, std::move(batch));
      batch.clear();
    }
  }
  std::printf("preload: %ld messages (%s) in %.1f s (%.0f messages/s), trie "
              "of %zu nodes\n",
              count, shape.c_str(), seconds_since(start),
              count / seconds_since(start), trie.size());
}

void probe(connection& c, const std::string& group, int calls,
           const merkle_trie& trie) {
  auto median = [](std::vector<double> xs) {
    std::sort(xs.begin(), xs.end());
    return xs[xs.size() / 2];
  };
  // Where the hub stands: the client starts at its head.
  auto at = push(c, group, client_node, {});
  exchange_request req;
  req.group_id = group;
  req.client_id = client_node;
  req.hub = at.hub;
  req.after = at.head;
  std::vector<double> nothing;
  size_t nothing_bytes = 0;
  for (int i = 0; i < calls; ++i) {
    auto body = write_exchange_request(req, at.root);
    auto t = std::chrono::steady_clock::now();
    auto answer = c.post(body);
    nothing.push_back(seconds_since(t) * 1000);
    nothing_bytes = body.size() + answer.size();
    auto a = answer_of(answer);
    if (!a.messages.empty() || a.more) {
      std::fprintf(stderr, "bench_sync: the hub had something new\n");
      std::exit(1);
    }
  }
  std::vector<double> one;
  size_t one_bytes = 0;
  for (int i = 0; i < calls; ++i) {
    // A counter per call: two calls within a millisecond would otherwise
    // push the same timestamp twice.
    push(c, group, "c0c0c0c0c0c0c0c0",
         {make_message(wall_clock_ms(), static_cast<uint32_t>(i), "c0c0c0c0c0c0c0c0", i)});
    auto body = write_exchange_request(req, at.root);
    auto t = std::chrono::steady_clock::now();
    auto answer = c.post(body);
    one.push_back(seconds_since(t) * 1000);
    one_bytes = body.size() + answer.size();
    auto a = answer_of(answer);
    if (a.messages.size() != 1) {
      std::fprintf(stderr, "bench_sync: %zu messages instead of 1\n",
                   a.messages.size());
      std::exit(1);
    }
    req.after = a.next;
  }
  std::printf("probe: nothing new %.2f ms, %zu bytes (request and answer); "
              "one new message %.2f ms, %zu bytes; the whole trie a client "
              "of the crdt-example-app format posts: %zu bytes\n",
              median(nothing), nothing_bytes, median(one), one_bytes,
              trie.to_json().size());
}

void ingest(const std::string& host, const std::vector<std::string>& ports,
            const std::string& group, int clients, long batches, size_t size,
            int groups) {
  std::atomic<long> sent{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      connection c{host, ports[static_cast<size_t>(i) % ports.size()]};
      auto into = groups > 1 ? group + "-" + std::to_string(i % groups) : group;
      std::string node(16, static_cast<char>('d' + i % 3));
      node[0] = static_cast<char>('0' + i);
      for (long b = 0; b < batches; ++b) {
        std::vector<message> msgs;
        auto at = wall_clock_ms();
        for (size_t k = 0; k < size; ++k)
          msgs.push_back(make_message(at, static_cast<uint32_t>(b * size + k),
                                      node, static_cast<long>(k)));
        push(c, into, node, std::move(msgs));
        sent += static_cast<long>(size);
      }
    });
  for (auto& t : threads)
    t.join();
  auto secs = seconds_since(start);
  std::printf("ingest: %ld messages from %d clients in batches of %zu into "
              "%d group(s) through %zu hub process(es) in %.1f s: %.0f "
              "messages/s\n",
              sent.load(), clients, size, groups, ports.size(), secs,
              sent / secs);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 9) {
    std::fprintf(stderr, "usage: bench_sync <host> <port> <group> "
                         "minutes|burst <count> <probe-calls> <clients> "
                         "<batches> [size] [groups]\n");
    return 2;
  }
  std::string host = argv[1], port = argv[2], group = argv[3];
  std::string shape = argv[4];
  long count = std::atol(argv[5]);
  int calls = std::atoi(argv[6]);
  int clients = std::atoi(argv[7]);
  long batches = std::atol(argv[8]);
  size_t size = argc > 9 ? std::strtoul(argv[9], nullptr, 10) : 1000;
  int groups = argc > 10 ? std::atoi(argv[10]) : 1;
  std::vector<std::string> ports;
  for (size_t at = 0; at <= port.size();) {
    auto comma = std::min(port.find(',', at), port.size());
    ports.push_back(port.substr(at, comma - at));
    at = comma + 1;
  }
  port = ports.front();
  connection c{host, port};
  merkle_trie trie;
  if (count > 0)
    preload(c, group, shape, count, trie);
  if (calls > 0)
    probe(c, group, calls, trie);
  if (clients > 0)
    ingest(host, ports, group, clients, batches, size, groups);
  return 0;
}
