#include "protocol/murmur3.hpp"

#include <boost/test/unit_test.hpp>

using namespace crdt;

BOOST_AUTO_TEST_SUITE(murmur3_tests)

// Reference values of MurmurHash3_x86_32 (Austin Appleby's implementation).
BOOST_AUTO_TEST_CASE(known_vectors) {
  BOOST_CHECK_EQUAL(murmur3_32(""), 0u);
  BOOST_CHECK_EQUAL(murmur3_32("", 1), 0x514E28B7u);
  BOOST_CHECK_EQUAL(murmur3_32("", 0xffffffff), 0x81F16F39u);
  BOOST_CHECK_EQUAL(murmur3_32("hello"), 0x248BFA47u);
  BOOST_CHECK_EQUAL(murmur3_32("The quick brown fox jumps over the lazy dog"),
                    0x2E4FF723u);
  BOOST_CHECK_EQUAL(murmur3_32("Hello, world!", 1234), 0xFAF6CDB3u);
}

BOOST_AUTO_TEST_CASE(every_tail_length) {
  // Tails of 1, 2 and 3 bytes after whole blocks.
  BOOST_CHECK_EQUAL(murmur3_32("a"), 0x3C2569B2u);
  BOOST_CHECK_EQUAL(murmur3_32("ab"), 0x9BBFD75Fu);
  BOOST_CHECK_EQUAL(murmur3_32("abc"), 0xB3DD93FAu);
  BOOST_CHECK_EQUAL(murmur3_32("abcd"), 0x43ED676Au);
  BOOST_CHECK_EQUAL(murmur3_32("abcde"), 0xE89B9AF6u);
}

BOOST_AUTO_TEST_SUITE_END()
