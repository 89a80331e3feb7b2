// The front of a collection whose shards are served elsewhere (`xclip serve --index SHARD`
// on each machine): a query, embedded once here, goes to every shard's /search as an
// embedding; each answers its top K with X-CLIP's stage-2 scores (comparable across shards:
// a window's score does not depend on the rest of the collection); the lists merge by score.
// A shard that is down, slow or answers garbage is reported in the answer, never waited for
// past the timeout. Window ids are made unique the way a local collection makes them
// (id·shards + shard), so the page and the /media routes work unchanged through the front.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace xclip::server {

struct ShardTarget {
  std::string url;          // as given
  std::string origin;       // scheme://host:port
  std::string path_prefix;  // "" or "/prefix" (no trailing slash)
};

// http://host[:port][/prefix] -> its parts; InvalidArgument naming the URL otherwise (only
// plain HTTP: shards sit on a private network, or behind a TLS proxy on this machine).
ShardTarget parse_shard_url(const std::string& url);

struct ShardStatus {
  std::string url;
  bool ok = false;
  std::string error;  // why not (down, timed out, status, bad answer)
  std::size_t hits = 0;
  double milliseconds = 0;
};

struct FanoutAnswer {
  nlohmann::json hits = nlohmann::json::array();  // merged, best first, at most `top`
  std::vector<ShardStatus> shards;
  bool partial() const;
};

class ShardFanout {
 public:
  ShardFanout(const std::vector<std::string>& urls, std::string api_key, int timeout_ms);

  // `query` is a shard /search body carrying "text_embeds" or "video_embeds".
  FanoutAnswer search(const nlohmann::json& query, int top) const;
  // GET of a window's /media path on the shard that holds it (thumbnails whole; videos by
  // byte range, at most 8 MiB a request).
  void media(const std::string& kind, std::int64_t window_id, const std::string& range, httplib::Response& res) const;
  std::size_t size() const { return targets_.size(); }
  std::vector<std::string> urls() const;

 private:
  std::vector<ShardTarget> targets_;
  std::string api_key_;
  int timeout_ms_;
};

nlohmann::json to_json(const ShardStatus& s);

}  // namespace xclip::server
