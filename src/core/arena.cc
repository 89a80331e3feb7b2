#include "core/arena.h"

#include <algorithm>
#include <cstdlib>

#include "core/check.h"

namespace xclip {

namespace {
constexpr std::size_t kAlign = 64;
std::size_t round_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

Arena::Block Arena::make_block(std::size_t size) {
  Block b;
  void* p = std::aligned_alloc(kAlign, size);
  XCLIP_CHECK(p != nullptr, Error) << "out of memory: activation arena needs " << size << " bytes";
  b.memory = std::unique_ptr<std::byte, void (*)(void*)>(static_cast<std::byte*>(p), std::free);
  b.size = size;
  return b;
}

void* Arena::alloc_bytes(std::size_t bytes) {
  const std::size_t need = round_up(std::max<std::size_t>(bytes, 1));
  if (blocks_.empty() || blocks_.back().size - blocks_.back().used < need) {
    const std::size_t last = blocks_.empty() ? 0 : blocks_.back().size;
    blocks_.push_back(make_block(std::max({need, last * 2, std::size_t{1} << 20})));
  }
  Block& b = blocks_.back();
  void* p = b.memory.get() + b.used;
  b.used += need;
  in_use_ += need;
  high_water_ = std::max(high_water_, in_use_);
  return p;
}

void Arena::reset() {
  if (blocks_.size() > 1) {
    blocks_.clear();
    blocks_.push_back(make_block(round_up(high_water_)));
  }
  for (Block& b : blocks_) b.used = 0;
  in_use_ = 0;
}

Arena::Mark Arena::mark() const {
  Mark m;
  m.blocks = blocks_.size();
  m.used = blocks_.empty() ? 0 : blocks_.back().used;
  m.in_use = in_use_;
  return m;
}

void Arena::rewind(const Mark& m) {
  // Blocks added after the mark stay allocated (they are reused) but are emptied.
  for (std::size_t i = m.blocks; i < blocks_.size(); ++i) blocks_[i].used = 0;
  if (m.blocks > 0) blocks_[m.blocks - 1].used = m.used;
  in_use_ = m.in_use;
}

std::size_t Arena::capacity() const {
  std::size_t total = 0;
  for (const Block& b : blocks_) total += b.size;
  return total;
}

}  // namespace xclip
