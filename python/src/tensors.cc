#include "tensors.h"

#include <cstring>

#include "xclip/error.h"

namespace xclip::python {

namespace {

py::dtype numpy_dtype(DType t) {
  switch (t) {
    case DType::F32: return py::dtype::of<float>();
    case DType::F64: return py::dtype::of<double>();
    case DType::I64: return py::dtype::of<std::int64_t>();
    case DType::I32: return py::dtype::of<std::int32_t>();
    case DType::I16: return py::dtype::of<std::int16_t>();
    case DType::I8: return py::dtype::of<std::int8_t>();
    case DType::U8: return py::dtype::of<std::uint8_t>();
    case DType::Bool: return py::dtype::of<bool>();
    case DType::F16: return py::dtype("float16");
    case DType::BF16: return py::dtype("uint16");  // numpy has no bfloat16: raw bits
  }
  throw UnsupportedError("tensor dtype without a numpy equivalent");
}

DType tensor_dtype(const py::dtype& d, const std::string& name) {
  switch (d.kind()) {
    case 'f':
      if (d.itemsize() == 4) return DType::F32;
      if (d.itemsize() == 8) return DType::F64;
      if (d.itemsize() == 2) return DType::F16;
      break;
    case 'i':
      if (d.itemsize() == 8) return DType::I64;
      if (d.itemsize() == 4) return DType::I32;
      if (d.itemsize() == 2) return DType::I16;
      if (d.itemsize() == 1) return DType::I8;
      break;
    case 'u':
      if (d.itemsize() == 1) return DType::U8;
      break;
    case 'b':
      return DType::Bool;
    default:
      break;
  }
  throw InvalidArgument(name + ": unsupported array dtype " + static_cast<std::string>(py::str(py::handle(d))));
}

}  // namespace

py::array to_numpy(const Tensor& tensor) {
  auto* keep = new Tensor(tensor);
  py::capsule owner(keep, [](void* p) { delete static_cast<Tensor*>(p); });
  std::vector<py::ssize_t> shape(tensor.shape().begin(), tensor.shape().end());
  py::array out(numpy_dtype(tensor.dtype()), shape, tensor.raw(), owner);
  // Mapped (borrowed) tensors are read-only; numpy must not write through them.
  if (!tensor.writable()) py::detail::array_proxy(out.ptr())->flags &= ~py::detail::npy_api::NPY_ARRAY_WRITEABLE_;
  return out;
}

Tensor from_numpy(const py::handle& value, const std::string& name) {
  if (value.is_none()) throw InvalidArgument(name + ": expected an array, got None");
  py::handle source = value;
  py::object holder;
  // torch tensors: detach to CPU first (numpy() shares their memory).
  if (py::hasattr(value, "detach") && py::hasattr(value, "numpy")) {
    holder = value.attr("detach")().attr("cpu")().attr("numpy")();
    source = holder;
  }
  py::array array = py::array::ensure(source, py::array::c_style);
  if (!array) throw InvalidArgument(name + ": expected an array-like value");
  const DType dtype = tensor_dtype(array.dtype(), name);
  std::vector<std::int64_t> shape(array.shape(), array.shape() + array.ndim());
  Tensor t = Tensor::empty(dtype, shape);
  if (t.nbytes() > 0) std::memcpy(t.mutable_raw(), array.data(), t.nbytes());
  return t;
}

Tensor optional_from_numpy(const py::handle& value, const std::string& name) {
  return value.is_none() ? Tensor() : from_numpy(value, name);
}

py::dict to_dict(const NamedTensors& outputs) {
  py::dict d;
  for (const auto& [name, value] : outputs.items()) d[py::str(name)] = to_numpy(value);
  return d;
}

}  // namespace xclip::python
