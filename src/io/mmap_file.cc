#include "io/mmap_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/check.h"

namespace xclip::io {

namespace {
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  XCLIP_CHECK(fd >= 0, IoError) << path << ": cannot open: " << std::strerror(errno);
  FdCloser closer{fd};
  struct stat st {};
  XCLIP_CHECK(::fstat(fd, &st) == 0, IoError) << path << ": cannot stat: " << std::strerror(errno);
  XCLIP_CHECK(S_ISREG(st.st_mode), IoError) << path << ": not a regular file";
  std::shared_ptr<MappedFile> file(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<std::size_t>(st.st_size);
  if (file->size_ == 0) return file;  // mmap of 0 bytes is invalid; an empty view is fine
  void* p = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  XCLIP_CHECK(p != MAP_FAILED, IoError) << path << ": cannot map " << file->size_ << " bytes: " << std::strerror(errno);
  file->data_ = static_cast<const std::uint8_t*>(p);
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
}

std::string read_text_file(const std::string& path) {
  struct stat st {};
  XCLIP_CHECK(::stat(path.c_str(), &st) == 0, IoError) << path << ": cannot open: " << std::strerror(errno);
  XCLIP_CHECK(S_ISREG(st.st_mode), IoError) << path << ": not a regular file";
  std::ifstream in(path, std::ios::binary);
  XCLIP_CHECK(in.good(), IoError) << path << ": cannot open for reading";
  std::ostringstream buffer;
  buffer << in.rdbuf();
  XCLIP_CHECK(!in.bad(), IoError) << path << ": read error";
  return buffer.str();
}

void write_file_atomically(const std::string& path, std::string_view bytes, const char* what) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    XCLIP_CHECK(out.good(), IoError) << tmp << ": cannot write " << what;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  XCLIP_CHECK(!ec, IoError) << path << ": cannot write " << what << ": " << ec.message();
}

}  // namespace xclip::io
