// numpy <-> xclip::Tensor. Tensors handed to Python are zero-copy: the array keeps the
// tensor's memory alive. Arrays handed to the library are copied (C order, native dtype).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

#include "xclip/outputs.h"
#include "xclip/tensor.h"

namespace xclip::python {

namespace py = pybind11;

py::array to_numpy(const Tensor& tensor);
// Any array-like (numpy array, list, torch tensor through __array__) -> an owned tensor.
// `name` appears in errors.
Tensor from_numpy(const py::handle& value, const std::string& name);
// None -> undefined tensor.
Tensor optional_from_numpy(const py::handle& value, const std::string& name);
py::dict to_dict(const NamedTensors& outputs);

}  // namespace xclip::python
