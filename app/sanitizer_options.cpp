// Built into the server only by the Sanitize build type: the sanitizer
// settings the tests want, in the binary itself, so that they hold however
// the server is started (the acceptance suite passes it a clean environment).
// A report stops the server, so a test that meets one fails.

extern "C" const char* __asan_default_options() {
  return "detect_leaks=0:abort_on_error=1";
}

extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" CRDT_SOURCE_DIR
         "/tests/ubsan.supp";
}
