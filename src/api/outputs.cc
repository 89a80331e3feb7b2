// NamedTensors: the ordered output list of a forward pass.
#include "xclip/outputs.h"

#include "core/check.h"

namespace xclip {

void NamedTensors::add(std::string name, Tensor value) { items_.emplace_back(std::move(name), std::move(value)); }

bool NamedTensors::contains(const std::string& name) const {
  for (const auto& item : items_)
    if (item.first == name) return true;
  return false;
}

const Tensor& NamedTensors::at(const std::string& name) const {
  for (const auto& item : items_)
    if (item.first == name) return item.second;
  XCLIP_FAIL(InvalidArgument) << "no output named '" << name << "'";
  __builtin_unreachable();  // the failure above always throws
}

}  // namespace xclip
