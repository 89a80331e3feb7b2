#include "index/file_scan.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/check.h"

namespace xclip::index {

namespace fs = std::filesystem;

bool has_video_extension(const std::string& path) {
  static const std::set<std::string> extensions = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".ts",
                                                   ".mts", ".m2ts", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp",
                                                   ".ogv", ".gif"};
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return extensions.count(ext) > 0;
}

std::string absolute_path(const std::string& path) {
  std::string p = fs::absolute(fs::path(path)).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

bool path_under(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

namespace {

std::int64_t mtime_ns(const fs::path& p) {
  const auto t = fs::last_write_time(p).time_since_epoch();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t).count();
}

void add_file(const fs::path& p, ScanResult& out) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) {
    out.problems.emplace_back(p.string(), ec.message());
    return;
  }
  out.files.push_back({absolute_path(p.string()), static_cast<std::int64_t>(size), mtime_ns(p)});
}

}  // namespace

ScanResult scan_videos(const std::vector<std::string>& roots) {
  ScanResult out;
  for (const std::string& root : roots) {
    const std::string abs = absolute_path(root);
    std::error_code ec;
    const fs::file_status st = fs::status(abs, ec);
    if (ec || !fs::exists(st)) {
      out.problems.emplace_back(root, "no such file or folder");
      continue;
    }
    out.roots.push_back(abs);
    if (fs::is_regular_file(st)) {
      add_file(abs, out);
      continue;
    }
    if (!fs::is_directory(st)) {
      out.problems.emplace_back(root, "not a regular file or folder");
      continue;
    }
    fs::recursive_directory_iterator it(abs, fs::directory_options::skip_permission_denied, ec), end;
    if (ec) out.problems.emplace_back(root, ec.message());
    for (; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec) && has_video_extension(it->path().string())) add_file(it->path(), out);
    }
    if (ec) out.problems.emplace_back(root, "walking stopped: " + ec.message());
  }
  std::sort(out.files.begin(), out.files.end(), [](const FileVersion& a, const FileVersion& b) { return a.path < b.path; });
  out.files.erase(std::unique(out.files.begin(), out.files.end(),
                              [](const FileVersion& a, const FileVersion& b) { return a.path == b.path; }),
                  out.files.end());
  return out;
}

std::uint64_t hash_bytes(const void* data, std::size_t size, std::uint64_t seed) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (size + 1));
  auto mix = [&](std::uint64_t w) {
    h ^= w * 0xbf58476d1ce4e5b9ULL;
    h = (h << 31 | h >> 33) * 0x94d049bb133111ebULL;
  };
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, 8);
    mix(w);
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p + i, size - i);
  mix(tail ^ (size - i));
  h ^= h >> 29;
  return h;
}

namespace {

std::string hex(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::uint64_t sampled_hash(const std::string& path, std::uint64_t seed) {
  std::ifstream in(path, std::ios::binary);
  XCLIP_CHECK(in.good(), IoError) << path << ": cannot read the file";
  in.seekg(0, std::ios::end);
  const std::int64_t size = in.tellg();
  constexpr std::int64_t kSample = 64 * 1024;
  std::uint64_t h = hash_bytes(&size, sizeof(size), seed);
  std::vector<char> buf(kSample);
  for (const std::int64_t at : {std::int64_t{0}, size / 2 - kSample / 2, size - kSample}) {
    const std::int64_t from = std::max<std::int64_t>(0, at);
    in.seekg(from);
    in.read(buf.data(), std::min(kSample, size - from));
    h = hash_bytes(buf.data(), static_cast<std::size_t>(in.gcount()), h);
    in.clear();
  }
  return h;
}

// What decides the numbers a model folder gives: its config and weights (not READMEs,
// tokenizer files or conversion reports).
bool is_weights_or_config(const std::string& name) {
  auto ends_with = [&](const char* suffix) {
    const std::size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return name == "config.json" || ends_with(".safetensors") || ends_with(".bin") || ends_with(".safetensors.index.json");
}

}  // namespace

std::string sampled_content_hash(const std::string& path) { return hex(sampled_hash(path, 1)); }

std::string whole_file_hash(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  XCLIP_CHECK(in.good(), IoError) << path << ": cannot read";
  std::vector<char> buf(1 << 20);
  std::uint64_t h = 3;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) h = hash_bytes(buf.data(), static_cast<std::size_t>(in.gcount()), h);
  }
  return hex(h);
}

std::string folder_fingerprint(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && is_weights_or_config(entry.path().filename().string()))
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  std::uint64_t h = 7;
  for (const std::string& name : names) {
    h = hash_bytes(name.data(), name.size(), h);
    h = sampled_hash((fs::path(dir) / name).string(), h);
  }
  return hex(h);
}

}  // namespace xclip::index
