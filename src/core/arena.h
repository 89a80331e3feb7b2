// Bump allocator for activations. The first forward grows it to its high-water mark; after
// reset() it holds that much in one block, so later forwards of the same size never malloc.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace xclip {

class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // 64-byte aligned, uninitialised, valid until reset().
  float* alloc_floats(std::size_t count) { return static_cast<float*>(alloc_bytes(count * sizeof(float))); }
  void* alloc_bytes(std::size_t bytes);
  // Frees everything handed out; consolidates the blocks into one of the high-water size.
  void reset();
  std::size_t capacity() const;

  // Everything allocated after a mark is released by rewind(mark); used by ArenaScope.
  struct Mark {
    std::size_t blocks = 0;
    std::size_t used = 0;
    std::size_t in_use = 0;
  };
  Mark mark() const;
  void rewind(const Mark& m);

 private:
  struct Block {
    std::unique_ptr<std::byte, void (*)(void*)> memory{nullptr, nullptr};
    std::size_t size = 0;
    std::size_t used = 0;
  };
  static Block make_block(std::size_t size);
  std::vector<Block> blocks_;
  std::size_t in_use_ = 0;
  std::size_t high_water_ = 0;
};

// Releases what a module allocated for its temporaries when it returns.
class ArenaScope {
 public:
  explicit ArenaScope(Arena& arena) : arena_(arena), mark_(arena.mark()) {}
  ~ArenaScope() { arena_.rewind(mark_); }
  ArenaScope(const ArenaScope&) = delete;
  ArenaScope& operator=(const ArenaScope&) = delete;

 private:
  Arena& arena_;
  Arena::Mark mark_;
};

}  // namespace xclip
