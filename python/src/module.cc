// xclip._xclip: the C++ library's types for the Python package (python/xclip), which wraps
// them in transformers-shaped classes.
#include "bindings.h"
#include "xclip/version.h"

PYBIND11_MODULE(_xclip, m) {
  m.doc() = "xclip.cpp: X-CLIP (transformers' XCLIPModel) in C++";
  m.attr("__version__") = XCLIP_VERSION_STRING;
  xclip::python::bind_errors(m);
  xclip::python::bind_model(m);
  xclip::python::bind_processor(m);
  xclip::python::bind_video(m);
  xclip::python::bind_workflow(m);
  xclip::python::bind_safetensors(m);
  xclip::python::bind_index(m);
  xclip::python::bind_watch(m);
}
