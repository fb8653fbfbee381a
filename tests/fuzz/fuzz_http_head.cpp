// Request heads through Beast's parser with the server's limits (8 KiB head,
// 1 MiB body), then the target through the router, as a connection reads
// them.
#include "http/router.hpp"

#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> p;
  p.header_limit(8192);
  p.body_limit(1 << 20);
  p.eager(true);
  boost::beast::error_code ec;
  p.put(boost::asio::buffer(data, size), ec);
  if (!ec && p.is_header_done()) {
    auto target = p.get().target();
    crdt::parse_target(std::string_view{target.data(), target.size()});
  }
  return 0;
}
