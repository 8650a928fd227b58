// Result<T>: expected failures as values (STYLE.md "Errors and assertions").
//
// No exception crosses a node/ API. Malformed input from the network or a client, an unknown node
// or a storage error is returned as an Error; the place that talks to the outside world turns it
// into a RESP error, a log line or a Python exception. Assertions (SLOTLAB_ASSERT) are reserved for
// our own bugs and stay on in release builds.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace slotlab {

enum class Errc {
  invalid_argument,  // a client, config line or file said something we cannot accept
  protocol,          // a malformed byte stream (RESP or cluster bus)
  not_found,         // file, node, key ...
  io,                // a storage or transport failure
  timeout,
  state,             // the operation is not possible in the current state
};

struct Error {
  Errc code = Errc::invalid_argument;
  std::string message;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line, const std::string& context);

}  // namespace slotlab

// Our own invariants. Never used for input from outside. Prints the expression and, if a host
// registered one, the node / virtual time / seed context (see set_assert_context).
#define SLOTLAB_ASSERT(expr)                                                \
  do {                                                                      \
    if (!(expr)) ::slotlab::assertion_failed(#expr, __FILE__, __LINE__, {}); \
  } while (0)
#define SLOTLAB_ASSERT_MSG(expr, msg)                                        \
  do {                                                                       \
    if (!(expr)) ::slotlab::assertion_failed(#expr, __FILE__, __LINE__, msg); \
  } while (0)
