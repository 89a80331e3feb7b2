// safetensors files: an 8-byte little-endian header length, a JSON header mapping names to
// {dtype, shape, data_offsets}, then the raw data. Headers are untrusted: every size and
// offset is checked before a tensor is handed out.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "io/mmap_file.h"
#include "xclip/tensor.h"

namespace xclip::io {

class SafetensorsFile {
 public:
  // Throws IoError (unreadable) or FormatError (corrupt header, offsets, sizes).
  static SafetensorsFile open(const std::string& path);
  // Same checks on bytes already in memory (`name` is used in messages).
  static SafetensorsFile parse(std::shared_ptr<const MappedFile> file);

  const std::string& path() const { return file_->path(); }
  // Names in file order of their data.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // Borrowed, read-only view that keeps the mapping alive; FormatError if absent.
  Tensor get(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  std::map<std::string, Tensor> tensors_;
  std::vector<std::string> names_;
  std::map<std::string, std::string> metadata_;
};

// Writes tensors in the given order (a temporary file renamed into place).
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// "F32" -> DType; FormatError for unknown names.
DType parse_dtype_name(const std::string& name, const std::string& context);

}  // namespace xclip::io
