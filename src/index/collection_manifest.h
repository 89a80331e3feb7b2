// A sharded collection's manifest, <dir>/collection.json: the format, what every shard must
// agree on (model and settings), and the shard folders. It is written last when a collection
// is created (after its shards), in one rename, so a folder either is a collection or is not.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "xclip/index.h"

namespace xclip::index {

inline constexpr int kCollectionFormatVersion = 1;

struct CollectionManifest {
  int format_version = kCollectionFormatVersion;
  std::string model, model_fingerprint, dtype;
  IndexSettings settings;
  std::vector<std::string> shards;  // folder names relative to the collection folder
};

std::string manifest_path(const std::string& dir);
bool is_collection(const std::string& dir);
// FormatError naming the file on anything malformed or from a newer xclip.
CollectionManifest read_manifest(const std::string& dir);
// Written to a temporary file and renamed over collection.json.
void write_manifest(const std::string& dir, const CollectionManifest& manifest);
// "shard-000", "shard-001", ...
std::string shard_folder_name(std::size_t shard);
// Which of `shards` a file belongs to: a stable hash of its absolute path (the same on every
// machine and every run, so re-runs find each file where they left it).
std::size_t shard_of(const std::string& absolute_path, std::size_t shards);
// Empty when `info` (one shard's) agrees with the manifest; else what differs, naming both.
std::string manifest_mismatch(const CollectionManifest& manifest, const IndexInfo& info);

}  // namespace xclip::index
