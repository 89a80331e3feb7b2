#include "io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/check.h"

namespace xclip::io {

namespace {

using json = nlohmann::json;

// Headers of real checkpoints are a few hundred KiB; anything near this is hostile.
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

std::uint64_t read_le_u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Parses JSON while rejecting duplicate names at the top level (nlohmann keeps the last).
json parse_header_json(const char* begin, const char* end, const std::string& path) {
  std::set<std::string> seen;
  std::string duplicate;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      const std::string key = parsed.get<std::string>();
      if (!seen.insert(key).second && duplicate.empty()) duplicate = key;
    }
    return true;
  };
  json header;
  try {
    header = json::parse(begin, end, callback);
  } catch (const json::exception& e) {
    XCLIP_FAIL(FormatError) << path << ": safetensors header is not valid JSON: " << e.what();
  }
  XCLIP_CHECK(duplicate.empty(), FormatError) << path << ": safetensors header names tensor '" << duplicate << "' twice";
  XCLIP_CHECK(header.is_object(), FormatError) << path << ": safetensors header is not a JSON object";
  return header;
}

std::uint64_t json_u64(const json& v, const std::string& what) {
  XCLIP_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0), FormatError)
      << what << " must be a non-negative integer, got " << v.dump();
  return v.get<std::uint64_t>();
}

}  // namespace

DType parse_dtype_name(const std::string& name, const std::string& context) {
  static const std::map<std::string, DType> kNames = {
      {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"F64", DType::F64},
      {"I64", DType::I64}, {"I32", DType::I32}, {"I16", DType::I16},   {"I8", DType::I8},
      {"U8", DType::U8},   {"BOOL", DType::Bool}};
  auto it = kNames.find(name);
  XCLIP_CHECK(it != kNames.end(), FormatError) << context << ": unsupported dtype '" << name << "'";
  return it->second;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) { return parse(MappedFile::open(path)); }

SafetensorsFile SafetensorsFile::parse(std::shared_ptr<const MappedFile> file) {
  const std::string& path = file->path();
  const std::uint64_t size = file->size();
  XCLIP_CHECK(size >= 8, FormatError) << path << ": too short for a safetensors file (" << size << " bytes)";
  const std::uint64_t header_len = read_le_u64(file->data());
  XCLIP_CHECK(header_len <= size - 8, FormatError)
      << path << ": header length " << header_len << " runs past the end of the file (" << size << " bytes)";
  XCLIP_CHECK(header_len <= kMaxHeaderBytes, FormatError) << path << ": header length " << header_len << " is implausibly large";
  const char* header_begin = reinterpret_cast<const char*>(file->data() + 8);
  json header = parse_header_json(header_begin, header_begin + header_len, path);

  SafetensorsFile out;
  const std::uint8_t* data_begin = file->data() + 8 + header_len;
  const std::uint64_t data_size = size - 8 - header_len;
  struct Span {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& entry = it.value();
    if (name == "__metadata__") {
      XCLIP_CHECK(entry.is_object(), FormatError) << path << ": __metadata__ must be an object";
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        XCLIP_CHECK(m.value().is_string(), FormatError) << path << ": __metadata__ value of '" << m.key() << "' is not a string";
        out.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = path + ": tensor '" + name + "'";
    XCLIP_CHECK(entry.is_object(), FormatError) << where << ": entry is not an object";
    XCLIP_CHECK(entry.contains("dtype") && entry["dtype"].is_string(), FormatError) << where << ": missing dtype";
    XCLIP_CHECK(entry.contains("shape") && entry["shape"].is_array(), FormatError) << where << ": missing shape";
    XCLIP_CHECK(entry.contains("data_offsets") && entry["data_offsets"].is_array() && entry["data_offsets"].size() == 2,
                FormatError)
        << where << ": data_offsets must be [begin, end]";
    const DType dtype = parse_dtype_name(entry["dtype"].get<std::string>(), where);
    std::vector<std::int64_t> shape;
    std::uint64_t numel = 1;
    XCLIP_CHECK(entry["shape"].size() <= 8, FormatError) << where << ": rank " << entry["shape"].size() << " is too large";
    for (const json& d : entry["shape"]) {
      const std::uint64_t dim = json_u64(d, where + " shape dimension");
      XCLIP_CHECK(dim == 0 || numel <= (std::numeric_limits<std::uint64_t>::max() / 16) / dim, FormatError)
          << where << ": shape overflows";
      numel *= dim;
      shape.push_back(static_cast<std::int64_t>(dim));
    }
    const std::uint64_t begin = json_u64(entry["data_offsets"][0], where + " data_offsets[0]");
    const std::uint64_t end = json_u64(entry["data_offsets"][1], where + " data_offsets[1]");
    XCLIP_CHECK(begin <= end, FormatError) << where << ": data_offsets [" << begin << ", " << end << "] are reversed";
    XCLIP_CHECK(end <= data_size, FormatError)
        << where << ": data_offsets end " << end << " is past the end of the data section (" << data_size << " bytes)";
    const std::uint64_t expected = numel * dtype_size(dtype);
    XCLIP_CHECK(end - begin == expected, FormatError)
        << where << ": " << (end - begin) << " bytes stored but shape " << shape_to_string(shape) << " "
        << dtype_name(dtype) << " needs " << expected;
    spans.push_back({begin, end, name});
    out.tensors_[name] = Tensor::borrow(dtype, shape, data_begin + begin, file);
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < spans.size(); ++i) {
    XCLIP_CHECK(spans[i].begin >= spans[i - 1].end, FormatError)
        << path << ": data of tensors '" << spans[i - 1].name << "' and '" << spans[i].name << "' overlap";
  }
  for (const Span& s : spans) out.names_.push_back(s.name);
  out.file_ = std::move(file);
  return out;
}

Tensor SafetensorsFile::get(const std::string& name) const {
  auto it = tensors_.find(name);
  XCLIP_CHECK(it != tensors_.end(), FormatError) << path() << ": no tensor named '" << name << "'";
  return it->second;
}

void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    XCLIP_CHECK(seen.insert(name).second, InvalidArgument) << path << ": tensor name '" << name << "' given twice";
    header[name] = {{"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    XCLIP_CHECK(out.good(), IoError) << tmp << ": cannot open for writing";
    std::uint8_t len[8];
    std::uint64_t n = text.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<std::uint8_t>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& entry : tensors) {
      const Tensor& t = entry.second;
      out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
    }
    out.flush();
    XCLIP_CHECK(out.good(), IoError) << tmp << ": write failed";
  }
  XCLIP_CHECK(std::rename(tmp.c_str(), path.c_str()) == 0, IoError) << path << ": cannot rename " << tmp << " into place";
}

}  // namespace xclip::io
