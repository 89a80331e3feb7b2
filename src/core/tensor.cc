#include "xclip/tensor.h"

#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "core/check.h"

namespace xclip {

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::F16:
    case DType::BF16:
    case DType::I16:
      return 2;
    case DType::I8:
    case DType::U8:
    case DType::Bool:
      return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::F64: return "F64";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::I16: return "I16";
    case DType::I8: return "I8";
    case DType::U8: return "U8";
    case DType::Bool: return "BOOL";
  }
  return "?";
}

std::string shape_to_string(const std::vector<std::int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

namespace {

std::int64_t checked_numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    XCLIP_CHECK(d >= 0, InvalidArgument) << "negative dimension in shape " << shape_to_string(shape);
    XCLIP_CHECK(d == 0 || n <= std::numeric_limits<std::int64_t>::max() / 8 / d, InvalidArgument)
        << "shape " << shape_to_string(shape) << " is too large";
    n *= d;
  }
  return n;
}

}  // namespace

Tensor Tensor::empty(DType dtype, std::vector<std::int64_t> shape) {
  Tensor t;
  t.dtype_ = dtype;
  const std::size_t bytes = static_cast<std::size_t>(checked_numel(shape)) * dtype_size(dtype);
  t.shape_ = std::move(shape);
  // 64-byte alignment for vector loads; at least one cache line so data_ is never null.
  const std::size_t rounded = ((bytes + 63) / 64) * 64 + 64;
  void* p = std::aligned_alloc(64, rounded);
  XCLIP_CHECK(p != nullptr, Error) << "out of memory allocating " << bytes << " bytes";
  t.holder_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  t.data_ = p;
  t.writable_ = true;
  return t;
}

Tensor Tensor::zeros(DType dtype, std::vector<std::int64_t> shape) {
  Tensor t = empty(dtype, std::move(shape));
  std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::borrow(DType dtype, std::vector<std::int64_t> shape, const void* data,
                      std::shared_ptr<const void> owner) {
  Tensor t;
  t.dtype_ = dtype;
  checked_numel(shape);
  t.shape_ = std::move(shape);
  t.holder_ = std::move(owner);
  t.data_ = const_cast<void*>(data);
  t.writable_ = false;
  return t;
}

template <class T>
Tensor Tensor::from_values(DType dtype, std::vector<std::int64_t> shape, const T* values) {
  XCLIP_CHECK(dtype_size(dtype) == sizeof(T), InvalidArgument)
      << "from_values: element size " << sizeof(T) << " does not match " << dtype_name(dtype);
  Tensor t = empty(dtype, std::move(shape));
  if (t.nbytes()) std::memcpy(t.data_, values, t.nbytes());
  return t;
}

template Tensor Tensor::from_values<float>(DType, std::vector<std::int64_t>, const float*);
template Tensor Tensor::from_values<double>(DType, std::vector<std::int64_t>, const double*);
template Tensor Tensor::from_values<std::int64_t>(DType, std::vector<std::int64_t>, const std::int64_t*);
template Tensor Tensor::from_values<std::uint8_t>(DType, std::vector<std::int64_t>, const std::uint8_t*);

std::int64_t Tensor::dim(int i) const {
  const int r = rank();
  if (i < 0) i += r;
  XCLIP_CHECK(i >= 0 && i < r, InvalidArgument) << "dimension " << i << " out of range for " << describe();
  return shape_[static_cast<std::size_t>(i)];
}

std::int64_t Tensor::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : shape_) n *= d;
  return n;
}

void* Tensor::mutable_raw() {
  XCLIP_CHECK(writable_, InvalidArgument) << "tensor " << describe() << " is read-only (borrowed)";
  return data_;
}

namespace {
template <class T>
constexpr bool dtype_matches(DType d) {
  if constexpr (std::is_same_v<T, float>) return d == DType::F32;
  if constexpr (std::is_same_v<T, double>) return d == DType::F64;
  if constexpr (std::is_same_v<T, std::int64_t>) return d == DType::I64;
  if constexpr (std::is_same_v<T, std::int32_t>) return d == DType::I32;
  if constexpr (std::is_same_v<T, std::uint16_t>) return d == DType::F16 || d == DType::BF16 || d == DType::I16;
  if constexpr (std::is_same_v<T, std::uint8_t>) return d == DType::U8 || d == DType::Bool;
  if constexpr (std::is_same_v<T, std::int8_t>) return d == DType::I8;
  return false;
}
}  // namespace

template <class T>
const T* Tensor::data() const {
  XCLIP_CHECK(dtype_matches<T>(dtype_), InvalidArgument)
      << "tensor " << describe() << " accessed with the wrong element type";
  return static_cast<const T*>(data_);
}

template <class T>
T* Tensor::mutable_data() {
  XCLIP_CHECK(dtype_matches<T>(dtype_), InvalidArgument)
      << "tensor " << describe() << " accessed with the wrong element type";
  return static_cast<T*>(mutable_raw());
}

#define XCLIP_INSTANTIATE_ACCESS(T)            \
  template const T* Tensor::data<T>() const; \
  template T* Tensor::mutable_data<T>();
XCLIP_INSTANTIATE_ACCESS(float)
XCLIP_INSTANTIATE_ACCESS(double)
XCLIP_INSTANTIATE_ACCESS(std::int64_t)
XCLIP_INSTANTIATE_ACCESS(std::int32_t)
XCLIP_INSTANTIATE_ACCESS(std::uint16_t)
XCLIP_INSTANTIATE_ACCESS(std::uint8_t)
XCLIP_INSTANTIATE_ACCESS(std::int8_t)
#undef XCLIP_INSTANTIATE_ACCESS

std::string Tensor::describe() const { return shape_to_string(shape_) + " " + dtype_name(dtype_); }

Tensor Tensor::clone() const {
  Tensor t = empty(dtype_, shape_);
  if (nbytes()) std::memcpy(t.data_, data_, nbytes());
  return t;
}

Tensor Tensor::reshaped(std::vector<std::int64_t> shape) const {
  XCLIP_CHECK(checked_numel(shape) == numel(), InvalidArgument)
      << "cannot reshape " << describe() << " to " << shape_to_string(shape);
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

}  // namespace xclip
