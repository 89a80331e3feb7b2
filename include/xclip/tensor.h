// Owned or borrowed n-dimensional arrays exchanged with the library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace xclip {

enum class DType : std::uint8_t { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

std::size_t dtype_size(DType dtype);
// Safetensors spelling: "F32", "I64", ...
const char* dtype_name(DType dtype);

// Row-major tensor. Memory is either owned (64-byte aligned) or borrowed from an owner
// (a mapped file) that the tensor keeps alive. Borrowed tensors are read-only.
class Tensor {
 public:
  Tensor() = default;

  static Tensor empty(DType dtype, std::vector<std::int64_t> shape);
  static Tensor zeros(DType dtype, std::vector<std::int64_t> shape);
  // Borrows `data`; `owner` keeps it alive for as long as the tensor (or a copy) exists.
  static Tensor borrow(DType dtype, std::vector<std::int64_t> shape, const void* data,
                       std::shared_ptr<const void> owner);
  // Owned copy of `count` elements of T.
  template <class T>
  static Tensor from_values(DType dtype, std::vector<std::int64_t> shape, const T* values);

  bool defined() const { return data_ != nullptr || numel() == 0; }
  DType dtype() const { return dtype_; }
  const std::vector<std::int64_t>& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  std::int64_t dim(int i) const;
  std::int64_t numel() const;
  std::size_t nbytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype_); }
  bool writable() const { return writable_; }

  const void* raw() const { return data_; }
  void* mutable_raw();

  // Typed access; throws InvalidArgument when T does not match dtype().
  template <class T>
  const T* data() const;
  template <class T>
  T* mutable_data();

  // "[2, 3, 4] F32"
  std::string describe() const;
  // An owned, writable copy.
  Tensor clone() const;
  // Same memory, other shape of the same element count.
  Tensor reshaped(std::vector<std::int64_t> shape) const;

 private:
  DType dtype_ = DType::F32;
  std::vector<std::int64_t> shape_;
  std::shared_ptr<const void> holder_;
  void* data_ = nullptr;
  bool writable_ = false;
};

std::string shape_to_string(const std::vector<std::int64_t>& shape);

}  // namespace xclip
