// xclip serve: the model (and optionally a search index) behind HTTP, with a search page.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "xclip/options.h"
#include "xclip/video.h"

namespace xclip::server {

struct ServerOptions {
  std::string model;      // folder or hub id
  std::string index_dir;  // optional: enables /search and /media
  // Or: the front of a collection whose shards other servers serve (--shard URL, repeatable).
  std::vector<std::string> shard_urls;
  std::string shard_api_key;   // their API key
  int shard_timeout_ms = 5000;  // a shard slower than this is left out of the answer (flagged)
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;                 // empty: no authentication
  std::vector<std::string> allow_dirs;  // roots for {"path": ...} inputs
  std::vector<std::string> allow_sources;  // prefixes a /watch source must start with (none: no /watch)
  std::vector<std::string> allow_hosts;    // Host names answered besides this server's address
  std::vector<std::string> allow_origins;  // web origins whose pages may call the API
  int max_batch = 32;
  int max_wait_ms = 5;
  std::size_t max_queue = 256;
  WeightType dtype = WeightType::Auto;
  int num_threads = 0;
  int http_threads = 64;  // requests read and answered at once (past their head)
  int max_connections = 512;             // open connections, all clients (the rest get 503 at once)
  int max_connections_per_client = 128;  // open connections from one address
  std::size_t max_upload_bytes = 256u << 20;
  std::size_t max_json_bytes = 1u << 20;
  int read_timeout_seconds = 60;  // a whole request (head and body), plus 1 s per MiB of body
  DecodeLimits decode_limits;  // what one video may cost to decode
  bool quiet = false;
};

// Serves until SIGTERM or SIGINT: then stops accepting, finishes the requests in flight and
// returns 0. Binding failures throw.
int run_server(const ServerOptions& options);

}  // namespace xclip::server
