// The metrics registry and its exposition, the access-log line and request
// ids: pure functions, checked without a server.

#include "observe/log.hpp"
#include "observe/metrics.hpp"

#include <boost/test/unit_test.hpp>

#include <rapidjson/document.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

using namespace crdt;

namespace {

// A temporary file for a line_writer to write to; removed at the end.
struct temp_log {
  std::string path = "/tmp/crdt-line-writer.XXXXXX";
  int fd = -1;
  temp_log() {
    fd = ::mkstemp(path.data());
    BOOST_REQUIRE(fd >= 0);
  }
  ~temp_log() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  std::string text() const {
    std::ifstream in{path};
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos
         || text.rfind(line + "\n", 0) == 0;
}

} // namespace

BOOST_AUTO_TEST_SUITE(observe_tests)

BOOST_AUTO_TEST_CASE(histogram_buckets_are_cumulative_with_sum_and_count) {
  histogram h{{0.1, 1, 10}};
  for (double v : {0.05, 0.1, 0.5, 2.0, 20.0, 30.0})
    h.observe(v);
  auto cum = h.cumulative();
  BOOST_TEST(cum == (std::vector<uint64_t>{2, 3, 4, 6}),
             boost::test_tools::per_element());
  BOOST_TEST(h.count() == 6u);
  BOOST_TEST(h.sum() == 52.65, boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(concurrent_observations_are_all_counted) {
  histogram h{duration_buckets()};
  counter c;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        h.observe(0.001);
        c.add();
      }
    });
  for (auto& t : ts)
    t.join();
  BOOST_TEST(h.count() == 40000u);
  BOOST_TEST(c.value() == 40000u);
  BOOST_TEST(h.sum() == 40.0, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(exposition_names_types_and_labels) {
  metrics m;
  m.http_request("/store/:table", "POST", 201, 0.002);
  m.http_request("/store/:table", "POST", 201, 0.004);
  m.http_request("", "BREW", 404, 0.0001);
  m.commit(3, 0.01, 30);
  m.sync_round(true, 1'000'000);
  m.sync_round(false, 2'000'000);
  m.hub_request("exchange", "g1", 5);
  m.hub_request("exchange", "g2", 0);
  m.hub_request("legacy", "g1", 1);
  m.login_failures.add();
  scrape_facts f;
  f.outbox = 7;
  f.log_messages = 99;
  f.sync_enabled = true;
  f.now_ms = 1'004'500;
  auto text = m.render(f);
  BOOST_TEST(has_line(text, "# TYPE crdt_store_http_requests_total counter"));
  BOOST_TEST(has_line(text, "crdt_store_http_requests_total{route=\"/store/"
                            ":table\",method=\"POST\",status=\"201\"} 2"));
  // Unknown methods and unmatched paths cannot grow the series.
  BOOST_TEST(has_line(text, "crdt_store_http_requests_total{route=\"unmatched"
                            "\",method=\"other\",status=\"404\"} 1"));
  BOOST_TEST(has_line(text, "# TYPE crdt_store_http_request_duration_seconds "
                            "histogram"));
  BOOST_TEST(has_line(text, "crdt_store_http_request_duration_seconds_bucket{"
                            "route=\"/store/:table\",le=\"0.0025\"} 1"));
  BOOST_TEST(has_line(text, "crdt_store_http_request_duration_seconds_bucket{"
                            "route=\"/store/:table\",le=\"+Inf\"} 2"));
  BOOST_TEST(has_line(text, "crdt_store_http_request_duration_seconds_count{"
                            "route=\"/store/:table\"} 2"));
  BOOST_TEST(has_line(text, "crdt_store_writer_commit_batches_bucket{le=\"4\"} 1"));
  BOOST_TEST(has_line(text, "crdt_store_writer_messages_stored_total 30"));
  BOOST_TEST(has_line(text, "crdt_store_outbox_messages 7"));
  BOOST_TEST(has_line(text, "crdt_store_log_messages 99"));
  BOOST_TEST(has_line(text, "crdt_store_sync_enabled 1"));
  BOOST_TEST(has_line(text, "crdt_store_sync_rounds_total{outcome=\"ok\"} 1"));
  BOOST_TEST(has_line(text, "crdt_store_sync_rounds_total{outcome=\"failed\"} 1"));
  // The last success, not the last round.
  BOOST_TEST(has_line(text, "crdt_store_sync_last_success_timestamp_seconds 1000"));
  BOOST_TEST(has_line(text, "crdt_store_sync_last_success_age_seconds 4.5"));
  BOOST_TEST(has_line(text, "crdt_store_hub_requests_total{protocol=\"exchange\"} 2"));
  BOOST_TEST(has_line(text, "crdt_store_hub_requests_total{protocol=\"legacy\"} 1"));
  BOOST_TEST(has_line(text, "crdt_store_hub_groups 2"));
  BOOST_TEST(has_line(text, "crdt_store_hub_received_messages_total 6"));
  BOOST_TEST(has_line(text, "crdt_store_login_failures_total 1"));
  // Group names never become labels.
  BOOST_TEST(text.find("g1") == std::string::npos);
  // Every family is announced once, before its samples.
  BOOST_TEST(text.find("# TYPE crdt_store_hub_groups gauge")
             < text.find("crdt_store_hub_groups 2"));
}

BOOST_AUTO_TEST_CASE(labels_do_not_keep_the_callers_text) {
  metrics m;
  {
    std::string method = "GET", route = "/health";
    m.http_request(route, method, 200, 0.001);
    method = "XXX";
    route = "/gone!!";
  }
  auto text = m.render({});
  BOOST_TEST(has_line(text, "crdt_store_http_requests_total{route=\"/health\","
                            "method=\"GET\",status=\"200\"} 1"));
}

BOOST_AUTO_TEST_CASE(no_age_before_a_first_success) {
  metrics m;
  m.sync_round(false, 5000);
  auto text = m.render({});
  BOOST_TEST(has_line(text, "crdt_store_sync_last_success_timestamp_seconds 0"));
  BOOST_TEST(text.find("crdt_store_sync_last_success_age_seconds")
             == std::string::npos);
}

BOOST_AUTO_TEST_CASE(request_line_as_json_is_one_escaped_object) {
  request_log r;
  r.request_id = "id-1";
  r.method = "GET";
  r.route = "/store/:table/:id";
  r.status = 404;
  r.seconds = 0.0015;
  r.organization = "org\"\n1";
  r.peer = "127.0.0.1";
  auto line = format_request_line(log_format::json, r, 0);
  BOOST_REQUIRE(!line.empty() && line.back() == '\n');
  BOOST_TEST(line.find('\n') == line.size() - 1);
  rapidjson::Document d;
  d.Parse(line.data(), line.size() - 1);
  BOOST_REQUIRE(!d.HasParseError());
  BOOST_TEST(d["time"].GetString() == std::string{"1970-01-01T00:00:00.000Z"});
  BOOST_TEST(d["msg"].GetString() == std::string{"request"});
  BOOST_TEST(d["request_id"].GetString() == std::string{"id-1"});
  BOOST_TEST(d["route"].GetString() == std::string{"/store/:table/:id"});
  BOOST_TEST(d["status"].GetInt() == 404);
  BOOST_TEST(d["duration_ms"].GetDouble() == 1.5);
  BOOST_TEST(d["organization_id"].GetString() == std::string{"org\"\n1"});
  r.route = "";
  r.organization = "";
  auto text = format_request_line(log_format::text, r, 0);
  BOOST_TEST(text == "crdt-store: request id-1 GET unmatched 404 1.500 ms\n");
}

BOOST_AUTO_TEST_CASE(large_counts_print_exactly_and_json_stays_valid) {
  metrics m;
  m.sync_bytes_sent.add(12345678901234ull);
  BOOST_TEST(has_line(m.render({}), "crdt_store_sync_sent_bytes_total "
                                    "12345678901234"));
  // Invalid UTF-8 in a logged message becomes U+FFFD, valid JSON.
  std::string out;
  append_json_escaped(out, "a\xff\xc3\xa9\xed\xa0\x80\"\n");
  BOOST_TEST(out == "a\xef\xbf\xbd\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd"
                    "\xef\xbf\xbd\\\"\\n");
}

BOOST_AUTO_TEST_CASE(request_ids_are_the_clients_when_safe) {
  BOOST_TEST(request_id_for("abc-DEF_1.2:3") == "abc-DEF_1.2:3");
  for (std::string bad : std::vector<std::string>{"", "has space", "quote\"", "new\nline",
                          std::string(129, 'a'), "caf\xc3\xa9"}) {
    auto id = request_id_for(bad);
    BOOST_TEST(id != bad);
    BOOST_TEST(id.size() > 17u);
  }
  BOOST_TEST(request_id_for("") != request_id_for(""));
  BOOST_TEST((parse_log_format("json") == log_format::json));
  BOOST_TEST(!parse_log_format("JSON"));
}

// Lines that come one by one, each while the writer waits, go out
// together: waking the writer thread (and writing) once per line cost a
// tenth of the GET throughput with the access log on.
BOOST_AUTO_TEST_CASE(a_line_writer_gathers_lines_that_trickle_in) {
  temp_log log;
  std::string expected;
  uint64_t writes = 0;
  {
    line_writer w{log.fd, std::chrono::milliseconds{100}};
    for (int i = 0; i < 200; ++i) {
      auto line = "line " + std::to_string(i) + "\n";
      expected += line;
      w.push(line);
      std::this_thread::sleep_for(std::chrono::microseconds{100});
    }
    writes = w.writes();
  }
  // 200 lines over >= 20 ms: one or a few writes, not one per line.
  BOOST_TEST(writes <= 20u);
  // All of them, whole and in order, once the writer is gone.
  BOOST_TEST(log.text() == expected);
}

// A burst wakes the thread once: pushes while it gathers or writes only
// append.
BOOST_AUTO_TEST_CASE(a_burst_of_lines_wakes_the_line_writer_once) {
  temp_log log;
  line_writer w{log.fd, std::chrono::milliseconds{200}};
  // Waiting again once it has written a first line.
  w.push("first\n");
  for (int i = 0; i < 5000 && (w.writes() == 0 || !w.waiting()); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  BOOST_REQUIRE(w.writes() == 1u);
  BOOST_REQUIRE(w.waiting());
  auto before = w.wakeups();
  for (int i = 0; i < 1000; ++i)
    w.push("burst line " + std::to_string(i) + "\n");
  BOOST_TEST(w.wakeups() == before + 1);
}

BOOST_AUTO_TEST_CASE(a_line_writer_keeps_lines_from_many_threads_whole) {
  temp_log log;
  {
    line_writer w{log.fd, std::chrono::milliseconds{1}};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&w, t] {
        for (int i = 0; i < 2500; ++i)
          w.push("thread " + std::to_string(t) + " line " + std::to_string(i)
                 + " " + std::string(40, 'x') + "\n");
      });
    for (auto& th : threads)
      th.join();
  }
  std::istringstream in{log.text()};
  std::string line;
  int lines = 0;
  std::vector<int> next(4, 0);
  while (std::getline(in, line)) {
    ++lines;
    int t = 0;
    int i = 0;
    BOOST_REQUIRE(std::sscanf(line.c_str(), "thread %d line %d", &t, &i) == 2);
    BOOST_REQUIRE(t >= 0 && t < 4);
    BOOST_TEST(i == next[t]); // each thread's lines in its order
    next[t] = i + 1;
    BOOST_TEST(line.size() == line.find(" x") + 1 + 40);
  }
  BOOST_TEST(lines == 10000);
}

BOOST_AUTO_TEST_CASE(a_line_writer_drops_and_counts_what_a_stalled_reader_leaves) {
  temp_log log;
  {
    // Nothing is written for a second: of 100 bytes, the first line (30)
    // and two more (29 each) fit.
    line_writer w{log.fd, std::chrono::milliseconds{1000}, 100};
    w.push("first line that starts a wait\n");
    std::this_thread::sleep_for(std::chrono::milliseconds{20});
    for (int i = 0; i < 9; ++i)
      w.push("another line of thirty bytes\n");
    BOOST_TEST(w.dropped() == 7u);
  }
  auto text = log.text();
  BOOST_TEST(text.find("dropped 7 request lines") != std::string::npos);
  BOOST_TEST(text.rfind("first line that starts a wait\n", 0) == 0);
}

BOOST_AUTO_TEST_SUITE_END()
