#include <gtest/gtest.h>

#include <cstdint>

#include "core/arena.h"

namespace xclip {
namespace {

TEST(ArenaTest, AllocationsAreAlignedAndDistinct) {
  Arena arena;
  float* a = arena.alloc_floats(3);
  float* b = arena.alloc_floats(5);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % 64, 0u);
  EXPECT_GE(b - a, 3);
}

TEST(ArenaTest, ScopeReleasesAndResetConsolidates) {
  Arena arena;
  float* first = nullptr;
  {
    ArenaScope scope(arena);
    first = arena.alloc_floats(1 << 20);
    arena.alloc_floats(1 << 21);  // forces a second block
  }
  float* again = arena.alloc_floats(16);
  EXPECT_NE(again, nullptr);
  arena.reset();
  const std::size_t capacity = arena.capacity();
  // After reset one block holds the high-water mark: the same work no longer grows it.
  {
    ArenaScope scope(arena);
    arena.alloc_floats(1 << 20);
    arena.alloc_floats(1 << 21);
  }
  EXPECT_EQ(arena.capacity(), capacity);
  (void)first;
}

}  // namespace
}  // namespace xclip
