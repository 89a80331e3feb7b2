#include "xclip/safetensors.h"

#include "core/check.h"
#include "io/safetensors.h"

namespace xclip {

const Tensor& SafetensorsContents::at(const std::string& name) const {
  auto it = tensors.find(name);
  XCLIP_CHECK(it != tensors.end(), FormatError) << path << ": no tensor named '" << name << "'";
  return it->second;
}

SafetensorsContents load_safetensors(const std::string& path) {
  const io::SafetensorsFile file = io::SafetensorsFile::open(path);
  SafetensorsContents out;
  out.path = path;
  out.names = file.names();
  for (const std::string& name : file.names()) out.tensors.emplace(name, file.get(name));
  out.metadata = file.metadata();
  return out;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  io::write_safetensors(path, tensors, metadata);
}

}  // namespace xclip
