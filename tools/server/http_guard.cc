#include "http_guard.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace xclip::server {

namespace fs = std::filesystem;

std::string error_body(const std::string& message, const std::string& type) {
  return nlohmann::json{{"error", message}, {"type", type}}.dump(-1, ' ', false,
                                                                 nlohmann::json::error_handler_t::replace);
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  // Every byte of the longer string is looked at, whatever the lengths and contents.
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool bearer_matches(const std::string& header, const std::string& key) {
  static const std::string prefix = "Bearer ";
  if (header.size() < prefix.size() || header.compare(0, prefix.size(), prefix) != 0) return false;
  return constant_time_equal(header.substr(prefix.size()), key);
}

namespace {

struct TooDeep {};

}  // namespace

std::vector<std::string> string_list_field(const nlohmann::json& body, const char* name) {
  if (!body.is_object() || !body.contains(name)) return {};
  const nlohmann::json& v = body[name];
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array())
    throw HttpError(422, "validation", std::string("\"") + name + "\" must be a string or a list of strings");
  std::vector<std::string> out;
  for (const nlohmann::json& item : v) {
    if (!item.is_string()) throw HttpError(422, "validation", std::string("\"") + name + "\" must hold strings only");
    out.push_back(item.get<std::string>());
  }
  return out;
}

nlohmann::json parse_json_body(const std::string& body, std::size_t max_bytes, int max_depth) {
  if (body.size() > max_bytes)
    throw HttpError(413, "payload_too_large",
                    "the JSON body has " + std::to_string(body.size()) + " bytes, more than the limit of " +
                        std::to_string(max_bytes));
  try {
    return nlohmann::json::parse(body, [max_depth](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > max_depth) throw TooDeep{};
      return true;
    });
  } catch (const TooDeep&) {
    throw HttpError(400, "invalid_json", "the JSON body is nested deeper than " + std::to_string(max_depth) + " levels");
  } catch (const nlohmann::json::exception& e) {
    throw HttpError(400, "invalid_json", std::string("the body is not valid JSON: ") + e.what());
  }
}

namespace {

bool inside(const fs::path& path, const std::vector<std::string>& roots) {
  std::error_code ec;
  const std::string ps = path.string();
  for (const std::string& root : roots) {
    const fs::path r = fs::canonical(root, ec);
    if (ec) continue;
    const std::string rs = r.string();
    if (ps.size() > rs.size() && ps.compare(0, rs.size(), rs) == 0 && (rs.back() == '/' || ps[rs.size()] == '/'))
      return true;
  }
  return false;
}

}  // namespace

std::string confine_path(const std::string& path, const std::vector<std::string>& roots) {
  if (roots.empty())
    throw HttpError(403, "forbidden", "this server reads no files by path (start it with --allow-dir DIR)");
  const HttpError outside(403, "forbidden", "the path is outside the allowed folders (--allow-dir): " + path);
  std::error_code ec;
  const fs::path real = fs::canonical(fs::path(path), ec);  // resolves "..", "." and every symlink
  if (ec) {
    // Missing: 404 only inside the roots, so that nobody learns which files exist elsewhere.
    if (inside(fs::absolute(fs::path(path), ec).lexically_normal(), roots))
      throw HttpError(404, "not_found", "no such file: " + path);
    throw outside;
  }
  if (inside(real, roots)) return real.string();
  throw outside;
}

std::string resolve_within(const std::string& path, const std::vector<std::string>& roots) {
  std::error_code ec;
  const fs::path real = fs::canonical(fs::path(path), ec);
  if (ec || !fs::is_regular_file(real, ec)) return "";
  std::vector<std::string> all = roots;
  all.push_back(fs::absolute(fs::path(path), ec).lexically_normal().parent_path().string());
  return inside(real, all) ? real.string() : "";
}

namespace {

std::optional<std::uint64_t> digits(const std::string& s) {
  if (s.empty() || s.size() > 19 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoull(s);
}

}  // namespace

std::optional<ByteRange> parse_byte_range(const std::string& header, std::uint64_t size) {
  static const std::string unit = "bytes=";
  if (header.compare(0, unit.size(), unit) != 0) return std::nullopt;
  const std::string spec = header.substr(unit.size());
  if (spec.find(',') != std::string::npos) return std::nullopt;  // several ranges: the whole file
  const std::size_t dash = spec.find('-');
  if (dash == std::string::npos) return std::nullopt;
  const auto first = digits(spec.substr(0, dash));
  const auto last = digits(spec.substr(dash + 1));
  const HttpError unsatisfiable(416, "range_not_satisfiable",
                                "the range '" + header + "' asks for nothing of the file's " + std::to_string(size) +
                                    " bytes");
  if (!first && last) {  // suffix: the last N bytes
    if (*last == 0 || size == 0) throw unsatisfiable;
    return ByteRange{size - std::min(*last, size), size - 1};
  }
  if (!first || (last && *last < *first)) return std::nullopt;  // bad syntax: ignored
  if (*first >= size) throw unsatisfiable;
  return ByteRange{*first, last ? std::min(*last, size - 1) : size - 1};
}

std::string make_private_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/xclip-serve-XXXXXX";
  if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a private upload folder: " + std::string(std::strerror(errno)));
  return pattern;
}

TempFile::TempFile(const std::string& dir) {
  std::string pattern = dir + "/upload-XXXXXX";
  fd_ = mkstemp(pattern.data());  // mode 0600
  if (fd_ < 0) throw HttpError(500, "server_error", "cannot create a temporary file for the upload");
  path_ = pattern;
}

TempFile::~TempFile() {
  close();
  if (!path_.empty()) ::unlink(path_.c_str());
}

void TempFile::write(const char* data, std::size_t size, std::size_t limit) {
  if (size_ + size > limit)
    throw HttpError(413, "payload_too_large", "the upload is larger than the limit of " + std::to_string(limit) + " bytes");
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw HttpError(500, "server_error", "cannot store the upload: " + std::string(std::strerror(errno)));
    data += n;
    size -= static_cast<std::size_t>(n);
    size_ += static_cast<std::size_t>(n);
  }
}

void TempFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace xclip::server
