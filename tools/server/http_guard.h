// What keeps the server safe on a network: API key checks in constant time, paths confined
// to allowed roots, JSON parsed with size and depth limits, uploads in private temporary
// files, and errors as JSON with HTTP status codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

namespace xclip::server {

// An error answered as {"error": message, "type": type} with `status`.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string type, const std::string& message)
      : std::runtime_error(message), status_(status), type_(std::move(type)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }

 private:
  int status_;
  std::string type_;
};

std::string error_body(const std::string& message, const std::string& type);

// ASCII lower case (header names, hosts and media types compare case-insensitively).
std::string ascii_lower(std::string_view text);

// Compares in time independent of where the strings differ (and of the key's content).
bool constant_time_equal(const std::string& a, const std::string& b);

// "Bearer KEY" -> whether KEY is the key.
bool bearer_matches(const std::string& authorization_header, const std::string& key);

// The field `name` of a JSON body as a T, or `fallback` when absent; 422 for another type, and
// for an int out of int's range (no silent wrap-around: 4294967297 is not 1).
template <class T>
T field_or(const nlohmann::json& body, const char* name, T fallback) {
  if (!body.is_object() || !body.contains(name)) return fallback;
  if constexpr (std::is_same_v<T, int>) {  // no silent wrap-around (4294967297 is not 1)
    const nlohmann::json& v = body[name];
    const bool fits = v.is_number_integer() &&
                      (v.is_number_unsigned() ? v.get<std::uint64_t>() <= std::numeric_limits<int>::max()
                                              : v.get<std::int64_t>() >= std::numeric_limits<int>::min() &&
                                                    v.get<std::int64_t>() <= std::numeric_limits<int>::max());
    if (!fits) throw HttpError(422, "validation", std::string("\"") + name + "\" must be an integer in the int range");
    return v.get<int>();
  }
  try {
    return body[name].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw HttpError(422, "validation", std::string("\"") + name + "\" has the wrong type");
  }
}

// The field `name` as strings: one string, or a list of strings; empty when absent; 422
// naming the field for anything else.
std::vector<std::string> string_list_field(const nlohmann::json& body, const char* name);

// JSON from a request body: 413 over max_bytes, 400 when malformed (invalid UTF-8 included)
// or nested deeper than max_depth.
nlohmann::json parse_json_body(const std::string& body, std::size_t max_bytes, int max_depth = 16);

// The real path of `path` if it lies inside one of the roots (after resolving "..", and
// symlinks of the path and of the roots); 403 otherwise, 404 if it does not exist.
std::string confine_path(const std::string& path, const std::vector<std::string>& roots);

// The real path of an indexed file if it is a regular file that lies, after every symlink is
// resolved, in the folder it was indexed in or in one of the roots; "" otherwise (a file
// swapped for a symlink to /etc/passwd is not served).
std::string resolve_within(const std::string& path, const std::vector<std::string>& roots);

// The bytes [first, last] of a Range request on a file of `size` bytes (RFC 9110 14.1):
// nullopt means the whole file (no Range, another unit, bad syntax, or several ranges, which
// a server may ignore); ends past the file are clamped; HttpError 416 when nothing of the file
// is asked for.
struct ByteRange {
  std::uint64_t first = 0, last = 0;
};
std::optional<ByteRange> parse_byte_range(const std::string& header, std::uint64_t size);

// A file under a private (0700) folder, removed when the object goes.
class TempFile {
 public:
  explicit TempFile(const std::string& dir);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  // Appends; 413 past `limit` bytes in all.
  void write(const char* data, std::size_t size, std::size_t limit);
  void close();
  const std::string& path() const { return path_; }
  std::size_t size() const { return size_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::size_t size_ = 0;
};

// A new private folder for uploads (mkdtemp under $TMPDIR or /tmp).
std::string make_private_dir();

}  // namespace xclip::server
