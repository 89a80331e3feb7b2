// XCLIP_CHECK(cond, ErrorType) << "message": throws ErrorType with the streamed message.
// XCLIP_DCHECK(cond): debug-only assertion for kernels (compiled out in release builds).
#pragma once

#include <cassert>
#include <sstream>
#include <string>

#include "xclip/error.h"

namespace xclip::detail {

template <class E>
class Thrower {
 public:
  Thrower() = default;
  template <class T>
  Thrower& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }
  // Throwing from a destructor is the point of this helper: it only lives for one statement.
  [[noreturn]] ~Thrower() noexcept(false) { throw E(stream_.str()); }

 private:
  std::ostringstream stream_;
};

}  // namespace xclip::detail

#define XCLIP_CHECK(cond, ErrorType) \
  if (cond) {                        \
  } else                             \
    ::xclip::detail::Thrower<::xclip::ErrorType>()

#define XCLIP_FAIL(ErrorType) ::xclip::detail::Thrower<::xclip::ErrorType>()

#define XCLIP_DCHECK(cond) assert(cond)
