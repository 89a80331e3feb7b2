// Model resolution: a local folder, or a Hugging Face hub id ("org/name", "org/name@revision")
// found in / downloaded into the cache layout huggingface_hub uses, so that models already
// downloaded from Python are reused and ours are usable from Python.
#pragma once

#include <optional>
#include <string>

namespace xclip {

struct HubOptions {
  std::string revision;   // overrides "@revision"; default "main"
  std::string endpoint;   // default: $HF_ENDPOINT, else https://huggingface.co
  std::string token;      // default: $HF_TOKEN, else the token file of $HF_HOME
  std::string cache_dir;  // default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub
  std::optional<bool> offline;  // default: $HF_HUB_OFFLINE
  bool progress = true;   // progress bar on stderr when stderr is a terminal
};

inline constexpr const char* kDefaultModel = "microsoft/xclip-base-patch32";

// Returns a folder with config.json, the weights and the processor files. Throws IoError
// (network, HTTP status, offline without a cached copy) or InvalidArgument (bad id).
std::string resolve_model(const std::string& id_or_path, const HubOptions& options = {});

// The hub revision a resolved folder holds: the commit of a cache snapshot
// (…/snapshots/<commit>), or "local" for any other folder.
std::string snapshot_revision(const std::string& folder);

}  // namespace xclip
