// The JSON the front-ends print for the index's results, written once: `xclip search
// --format json` and the server's /search give a hit the same keys, `xclip index --info` and
// the server's /info an index the same description, `xclip index --format json` an update
// report. Templates over the JSON type: the CLI keeps its key order (ordered_json), the
// server sorts them (json).
#pragma once

#include <nlohmann/json.hpp>

#include "xclip/index.h"
#include "xclip/video.h"

namespace xclip::views {

template <class Json>
Json search_hit(const SearchHit& h) {
  return Json{{"path", h.path},
              {"start", h.start},
              {"end", h.end},
              {"score", h.score},
              {"stage1_score", h.stage1_score},
              {"reranked", h.reranked},
              {"window_id", h.window_id}};
}

template <class Json>
Json index_info(const IndexInfo& i) {
  return Json{{"dir", i.dir},
              {"format_version", i.format_version},
              {"model", i.model},
              {"model_fingerprint", i.model_fingerprint},
              {"revision", i.revision},
              {"dtype", i.dtype},
              {"window_seconds", i.settings.window_seconds},
              {"stride_seconds", i.settings.stride_seconds},
              {"num_frames", i.settings.num_frames},
              {"seek", seek_mode_name(i.settings.seek)},
              {"videos", i.videos},
              {"windows", i.windows},
              {"stage1", i.stage1},
              {"shards", i.shards},
              {"shard_dirs", i.shard_dirs}};
}

template <class Json>
Json update_report(const IndexUpdateReport& r) {
  Json failed = Json::array();
  for (const auto& [path, why] : r.failed) failed.push_back(Json{{"path", path}, {"error", why}});
  return Json{{"added", r.added},     {"updated", r.updated},     {"moved", r.moved},
              {"removed", r.removed}, {"unchanged", r.unchanged}, {"windows_added", r.windows_added},
              {"decoded", r.decoded},
              {"pictures_decoded", r.pictures_decoded},
              {"pictures_in_files", r.pictures_in_files},
              {"failed", failed},
              {"seconds", r.seconds}};
}

}  // namespace xclip::views
