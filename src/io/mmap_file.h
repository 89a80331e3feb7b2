// Read-only memory mapping of a whole file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace xclip::io {

class MappedFile {
 public:
  // Throws IoError when the path is missing, not a regular file, or cannot be mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

// Whole file as a string (for JSON and text files); IoError if unreadable.
std::string read_text_file(const std::string& path);
// Writes `bytes` to <path>.tmp, then renames it over `path`: a reader sees the old file or
// the new one, never half of it. IoError naming `what` and the file otherwise.
void write_file_atomically(const std::string& path, std::string_view bytes, const char* what);

}  // namespace xclip::io
