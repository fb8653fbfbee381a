// The HTTP baseline for reads: a minimal Boost.Beast keep-alive server that
// answers every request with the same 350-byte JSON body, on the same
// Asio/Beast stack as crdt-store and the same number of threads. Driven by
// the same wrk command as the server's GET phase, it is the ceiling a GET
// by id could reach if looking the record up cost nothing.
//
// Usage: bench_http_baseline <port> [threads=1]   (binds 127.0.0.1)

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A record as GET /store/contacts/:id returns it, padded to 350 bytes.
const std::string& body() {
  static const std::string b = [] {
    std::string s = R"({"data":{"id":"01JBHKXHYSKPP247HZZWHA3JCT","first_name":)"
                    R"("n1","middle_name":"n1","last_name":"n1","date_of_birth":)"
                    R"("n1","organization_id":"01JBHKXHYSKPP247HZZWHA3JCT",)"
                    R"("created_at":"2026-12-02T11:00:00.000Z","updated_at":)"
                    R"("2026-12-02T11:00:00.000Z","note":")";
    s.append(350 - s.size() - 3, 'x');
    s += "\"}}";
    return s;
  }();
  return b;
}

class session : public std::enable_shared_from_this<session> {
public:
  explicit session(tcp::socket s) : stream_(std::move(s)) {}

  void start() {
    read();
  }

private:
  void read() {
    req_ = {};
    http::async_read(stream_, buf_, req_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 size_t) {
                       if (!ec)
                         self->answer();
                     });
  }

  void answer() {
    res_ = http::response<http::string_body>{http::status::ok, req_.version()};
    res_.set(http::field::content_type, "application/json");
    res_.keep_alive(req_.keep_alive());
    res_.body() = body();
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code ec,
                                                  size_t) {
                        if (!ec && self->res_.keep_alive())
                          self->read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

void accept(tcp::acceptor& acc) {
  acc.async_accept([&acc](beast::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<session>(std::move(s))->start();
    }
    accept(acc);
  });
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_http_baseline <port> [threads]\n");
    return 2;
  }
  auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 1;
  asio::io_context ioc{threads};
  tcp::acceptor acc{ioc, {asio::ip::make_address("127.0.0.1"), port}};
  accept(acc);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i)
    pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool)
    t.join();
}
