// Assertion failure reporting for SLOTLAB_ASSERT (our own bugs only; never bad input).
#include "node/result.hpp"

#include "node/assert_context.hpp"

namespace slotlab {

namespace {
thread_local AssertContextFn g_assert_context = nullptr;
thread_local void* g_assert_context_arg = nullptr;
}  // namespace

void set_assert_context(AssertContextFn fn, void* arg) {
  g_assert_context = fn;
  g_assert_context_arg = arg;
}

void assertion_failed(const char* expr, const char* file, int line, const std::string& context) {
  std::fprintf(stderr, "slotlab: assertion failed: %s at %s:%d", expr, file, line);
  if (!context.empty()) std::fprintf(stderr, " (%s)", context.c_str());
  if (g_assert_context != nullptr) {
    std::string where = g_assert_context(g_assert_context_arg);
    std::fprintf(stderr, " [%s]", where.c_str());
  }
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
  std::abort();
}

}  // namespace slotlab
