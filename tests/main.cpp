#define BOOST_TEST_MODULE crdt_store
#include <boost/test/unit_test.hpp>
