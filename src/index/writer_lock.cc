#include "index/writer_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/check.h"

namespace xclip::index {

WriterLock::WriterLock(const std::string& dir) {
  const std::string path = (std::filesystem::path(dir) / "writer.lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  XCLIP_CHECK(fd_ >= 0, IoError) << path << ": cannot open the writer lock: " << std::strerror(errno);
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  const int error = errno;
  ::close(fd_);
  fd_ = -1;
  XCLIP_CHECK(error != EWOULDBLOCK, IoError)
      << dir << ": another process is updating this index (it holds writer.lock); one writer per index or shard";
  XCLIP_FAIL(IoError) << path << ": cannot lock: " << std::strerror(error);
}

WriterLock::~WriterLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

WriterLock::WriterLock(WriterLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

}  // namespace xclip::index
