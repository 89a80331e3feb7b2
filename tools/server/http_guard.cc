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

std::string confine_path(const std::string& path, const std::vector<std::string>& roots) {
  if (roots.empty())
    throw HttpError(403, "forbidden", "this server reads no files by path (start it with --allow-dir DIR)");
  std::error_code ec;
  const fs::path real = fs::canonical(fs::path(path), ec);  // resolves "..", "." and every symlink
  if (ec) throw HttpError(404, "not_found", "no such file: " + path);
  for (const std::string& root : roots) {
    const fs::path r = fs::canonical(root, ec);
    if (ec) continue;
    const std::string rs = r.string(), ps = real.string();
    if (ps.size() > rs.size() && ps.compare(0, rs.size(), rs) == 0 && (rs.back() == '/' || ps[rs.size()] == '/'))
      return ps;
  }
  throw HttpError(403, "forbidden", "the path is outside the allowed folders (--allow-dir): " + path);
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
