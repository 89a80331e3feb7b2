// The message of the library error `f` throws, or "(no error)": tests check that an error
// names the input and the problem.
#pragma once

#include <string>

#include "xclip/error.h"

namespace xclip::test {

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace xclip::test
