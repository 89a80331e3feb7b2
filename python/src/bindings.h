// One function per bound part of the library; module.cc calls them in order.
#pragma once

#include <pybind11/pybind11.h>

namespace xclip::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_model(py::module_& m);
void bind_processor(py::module_& m);
void bind_video(py::module_& m);
void bind_workflow(py::module_& m);
void bind_safetensors(py::module_& m);
void bind_index(py::module_& m);
void bind_watch(py::module_& m);

}  // namespace xclip::python
