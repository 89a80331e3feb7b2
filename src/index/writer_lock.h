// One writer per index folder: an exclusive lock on <dir>/writer.lock, held while an update
// or a removal runs. The kernel drops it when the process dies, so a writer killed with
// SIGKILL never leaves the folder locked; a second live writer is refused at once, naming
// the folder, instead of interleaving its transactions with the first one's.
#pragma once

#include <string>

namespace xclip::index {

class WriterLock {
 public:
  explicit WriterLock(const std::string& dir);
  ~WriterLock();
  WriterLock(WriterLock&& other) noexcept;
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;
  WriterLock& operator=(WriterLock&&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace xclip::index
