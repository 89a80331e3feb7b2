#include <gtest/gtest.h>

#include "xclip/error.h"
#include "xclip/tensor.h"

namespace xclip {
namespace {

TEST(TensorTest, EmptyIsAlignedAndWritable) {
  Tensor t = Tensor::empty(DType::F32, {3, 5});
  EXPECT_EQ(t.numel(), 15);
  EXPECT_EQ(t.nbytes(), 60u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(t.raw()) % 64, 0u);
  EXPECT_TRUE(t.writable());
  t.mutable_data<float>()[14] = 1.5f;
  EXPECT_EQ(t.data<float>()[14], 1.5f);
}

TEST(TensorTest, WrongElementTypeThrows) {
  Tensor t = Tensor::zeros(DType::I64, {2});
  EXPECT_THROW(t.data<float>(), InvalidArgument);
  EXPECT_NO_THROW(t.data<std::int64_t>());
}

TEST(TensorTest, BorrowedIsReadOnly) {
  static const float values[4] = {1, 2, 3, 4};
  Tensor t = Tensor::borrow(DType::F32, {2, 2}, values, nullptr);
  EXPECT_FALSE(t.writable());
  EXPECT_THROW(t.mutable_data<float>(), InvalidArgument);
  Tensor copy = t.clone();
  EXPECT_TRUE(copy.writable());
  EXPECT_EQ(copy.data<float>()[3], 4.0f);
}

TEST(TensorTest, ReshapeChecksElementCount) {
  Tensor t = Tensor::zeros(DType::F32, {2, 6});
  EXPECT_EQ(t.reshaped({3, 4}).dim(1), 4);
  EXPECT_THROW(t.reshaped({5}), InvalidArgument);
  EXPECT_THROW(t.dim(2), InvalidArgument);
  EXPECT_EQ(t.dim(-1), 6);
}

TEST(TensorTest, RejectsNegativeAndOverflowingShapes) {
  EXPECT_THROW(Tensor::empty(DType::F32, {-1}), InvalidArgument);
  EXPECT_THROW(Tensor::empty(DType::F32, {1ll << 40, 1ll << 40}), InvalidArgument);
}

TEST(TensorTest, DefaultIsUndefined) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_TRUE(Tensor::zeros(DType::F32, {0}).defined());
}

}  // namespace
}  // namespace xclip
