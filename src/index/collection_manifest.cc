#include "index/collection_manifest.h"

#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "index/file_scan.h"
#include "io/json.h"
#include "io/mmap_file.h"

namespace xclip::index {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::string manifest_path(const std::string& dir) { return (fs::path(dir) / "collection.json").string(); }

bool is_collection(const std::string& dir) {
  std::error_code ec;
  return fs::exists(manifest_path(dir), ec);
}

std::string shard_folder_name(std::size_t shard) {
  char name[32];
  std::snprintf(name, sizeof(name), "shard-%03zu", shard);
  return name;
}

std::size_t shard_of(const std::string& absolute_path, std::size_t shards) {
  if (shards <= 1) return 0;
  return static_cast<std::size_t>(hash_bytes(absolute_path.data(), absolute_path.size()) % shards);
}

namespace {

template <class T>
T field(const nlohmann::json& j, const char* key, const std::string& source) {
  XCLIP_CHECK(j.contains(key), FormatError) << source << ": no \"" << key << "\"";
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    XCLIP_FAIL(FormatError) << source << ": \"" << key << "\" has the wrong type";
  }
  __builtin_unreachable();
}

// A shard folder must be a plain name inside the collection: a manifest cannot point
// anywhere else on the machine.
void check_shard_name(const std::string& name, const std::string& source) {
  const bool plain = !name.empty() && name.find('/') == std::string::npos && name.find('\\') == std::string::npos &&
                     name != "." && name != "..";
  XCLIP_CHECK(plain, FormatError) << source << ": shard folder '" << name << "' is not a plain folder name";
}

}  // namespace

CollectionManifest read_manifest(const std::string& dir) {
  const std::string source = manifest_path(dir);
  const nlohmann::json j = io::read_json_object(source);
  XCLIP_CHECK(j.value("format", std::string()) == "xclip-collection", FormatError)
      << source << ": not an xclip collection manifest (\"format\" is not \"xclip-collection\")";
  CollectionManifest m;
  m.format_version = field<int>(j, "format_version", source);
  XCLIP_CHECK(m.format_version >= 1 && m.format_version <= kCollectionFormatVersion, FormatError)
      << source << ": collection format " << m.format_version << " (this xclip reads up to "
      << kCollectionFormatVersion << ")";
  m.model = field<std::string>(j, "model", source);
  m.model_fingerprint = field<std::string>(j, "model_fingerprint", source);
  m.dtype = field<std::string>(j, "dtype", source);
  XCLIP_CHECK(j.contains("settings") && j["settings"].is_object(), FormatError) << source << ": no \"settings\" object";
  const nlohmann::json& s = j["settings"];
  m.settings.window_seconds = field<double>(s, "window_seconds", source);
  m.settings.stride_seconds = field<double>(s, "stride_seconds", source);
  m.settings.num_frames = field<int>(s, "num_frames", source);
  m.settings.thumbnail_size = field<int>(s, "thumbnail_size", source);
  try {
    m.settings.seek = parse_seek_mode(field<std::string>(s, "seek", source));
  } catch (const InvalidArgument& e) {
    XCLIP_FAIL(FormatError) << source << ": " << e.what();
  }
  m.shards = field<std::vector<std::string>>(j, "shards", source);
  XCLIP_CHECK(!m.shards.empty() && m.shards.size() <= 4096, FormatError)
      << source << ": " << m.shards.size() << " shards (1 to 4096 allowed)";
  for (const std::string& name : m.shards) check_shard_name(name, source);
  return m;
}

void write_manifest(const std::string& dir, const CollectionManifest& m) {
  const json j = {{"format", "xclip-collection"},
                  {"format_version", m.format_version},
                  {"model", m.model},
                  {"model_fingerprint", m.model_fingerprint},
                  {"dtype", m.dtype},
                  {"settings",
                   {{"window_seconds", m.settings.window_seconds},
                    {"stride_seconds", m.settings.stride_seconds},
                    {"num_frames", m.settings.num_frames},
                    {"thumbnail_size", m.settings.thumbnail_size},
                    {"seek", seek_mode_name(m.settings.seek)}}},
                  {"shards", m.shards}};
  io::write_file_atomically(manifest_path(dir), j.dump(2) + "\n", "the collection manifest");
}

std::string manifest_mismatch(const CollectionManifest& m, const IndexInfo& info) {
  std::ostringstream out;
  const auto differ = [&](const char* what, const auto& recorded, const auto& found) {
    if (recorded == found) return;
    if (out.tellp() > 0) out << "; ";
    out << what << ": the collection says " << recorded << ", the shard " << found;
  };
  differ("model fingerprint", m.model_fingerprint, info.model_fingerprint);
  differ("dtype", m.dtype, info.dtype);
  differ("window seconds", m.settings.window_seconds, info.settings.window_seconds);
  differ("stride seconds", m.settings.stride_seconds, info.settings.stride_seconds);
  differ("frames per window", m.settings.num_frames, info.settings.num_frames);
  differ("thumbnail size", m.settings.thumbnail_size, info.settings.thumbnail_size);
  differ("seek", std::string(seek_mode_name(m.settings.seek)), std::string(seek_mode_name(info.settings.seek)));
  return out.str();
}

}  // namespace xclip::index
