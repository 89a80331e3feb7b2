// Exceptions thrown by the xclip library. Every message names the input and the problem.
#pragma once

#include <stdexcept>
#include <string>

namespace xclip {

// Base of every error the library throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// A caller-supplied value is wrong: shapes, frame counts, empty inputs, token ids.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A file exists but its content is corrupt or unexpected: checkpoint, config, video.
class FormatError : public Error {
 public:
  using Error::Error;
};

// A file cannot be opened, read or mapped.
class IoError : public Error {
 public:
  using Error::Error;
};

// The request needs something this build or CPU does not provide.
class UnsupportedError : public Error {
 public:
  using Error::Error;
};

}  // namespace xclip
