// The files an index covers: walking roots for videos, what identifies a file's version
// (size, mtime) and its content (a sampled hash, to recognise a moved file without reading
// all of it), and a model folder's fingerprint.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xclip::index {

struct FileVersion {
  std::string path;  // absolute, lexically normal
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
};

struct ScanResult {
  std::vector<FileVersion> files;  // sorted by path, no duplicates
  std::vector<std::string> roots;  // the roots as absolute paths (folders end without '/')
  std::vector<std::pair<std::string, std::string>> problems;  // path, why it was not listed
};

// Files given by name are taken as they are (the decoder decides whether they are videos);
// folders are walked recursively for video extensions. Missing roots are problems.
ScanResult scan_videos(const std::vector<std::string>& roots);
bool has_video_extension(const std::string& path);
// Absolute, lexically normal form of a path.
std::string absolute_path(const std::string& path);
// Whether `path` is `root` or lies under it.
bool path_under(const std::string& path, const std::string& root);

// 64-bit hash of bytes (a multiply-xorshift over 8-byte words); not cryptographic.
std::uint64_t hash_bytes(const void* data, std::size_t size, std::uint64_t seed = 0);
// Hex hash of a file's size and three 64 KiB samples (start, middle, end).
std::string sampled_content_hash(const std::string& path);
// Hex hash of a whole file's content (the vector file's integrity check).
std::string whole_file_hash(const std::string& path);
// Hex hash of a model folder's config.json and weight files (names, sizes, sampled contents).
std::string folder_fingerprint(const std::string& dir);

}  // namespace xclip::index
