// C++ exceptions -> Python: every library error derives from xclip.Error, and each kind
// also from the built-in exception Python code already catches for it.
#include "bindings.h"
#include "xclip/error.h"

namespace xclip::python {

namespace {

PyObject* new_exception(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("xclip.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // the module keeps a reference
  return type;
}

PyObject* derived(py::module_& m, const char* name, PyObject* base, PyObject* builtin, const char* doc) {
  py::tuple bases = py::make_tuple(py::handle(base), py::handle(builtin));
  return new_exception(m, name, bases.ptr(), doc);
}

}  // namespace

void bind_errors(py::module_& m) {
  static PyObject* error = new_exception(m, "Error", PyExc_Exception, "Base of every xclip error.");
  static PyObject* invalid = derived(m, "InvalidArgument", error, PyExc_ValueError,
                                     "A wrong value: shapes, frame counts, empty inputs, token ids.");
  static PyObject* format = derived(m, "FormatError", error, PyExc_ValueError,
                                    "A corrupt or unexpected file: checkpoint, config, video.");
  static PyObject* io = derived(m, "IoError", error, PyExc_OSError, "A file that cannot be opened or read.");
  static PyObject* unsupported = derived(m, "UnsupportedError", error, PyExc_NotImplementedError,
                                         "Something this build or CPU does not provide.");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InvalidArgument& e) {
      PyErr_SetString(invalid, e.what());
    } catch (const FormatError& e) {
      PyErr_SetString(format, e.what());
    } catch (const IoError& e) {
      PyErr_SetString(io, e.what());
    } catch (const UnsupportedError& e) {
      PyErr_SetString(unsupported, e.what());
    } catch (const Error& e) {
      PyErr_SetString(error, e.what());
    }
  });
}

}  // namespace xclip::python
