// xclip serve: parses the options and runs the HTTP server (tools/server).
#include <cstdlib>
#include <iostream>

#include "args.h"
#include "command_spec.h"
#include "commands.h"
#include "server.h"

namespace xclip::cli {

namespace {

const CommandSpec kServe = {
    "xclip serve --model ID|DIR [--index DIR] [options]",
    "Serves the model over HTTP (JSON), with a search page at / when --index is given. Texts and\n"
    "videos of concurrent requests share forward passes (dynamic batching). SIGTERM or Ctrl-C\n"
    "stops accepting, finishes the requests in flight and exits 0.\n\n"
    "routes: GET /health /info /metrics; POST /embed/text /v1/embeddings /embed/video /classify\n"
    "/search; GET /media/thumbnails/ID.jpg /media/videos/ID (Range); POST /watch, GET /watch,\n"
    "DELETE /watch/ID, GET /events (Server-Sent Events); GET / (the page)",
    model_option("required") +
        OptionList{{"host", "ADDR", "address to bind (default 127.0.0.1: this machine only)"},
                   {"port", "N", "(default 8080)"},
                   {"api-key", "KEY", "require \"Authorization: Bearer KEY\" (default: $XCLIP_API_KEY; none if unset)"},
                   {"allow-dir", "DIR", "a folder whose videos requests may name by path (repeatable)"},
                   {"allow-source", "P",
                    "a prefix a POST /watch source must start with, e.g. udp://127.0.0.1:\n"
                    "or rtsp://cameras.local/ or /srv/streams/ (repeatable; none: /watch is\n"
                    "refused: the server never opens a source a client makes up)"},
                   {"allow-host", "NAME",
                    "a Host name to answer besides this server's address, e.g. behind a\n"
                    "proxy (repeatable; * for any). Others get 403 (DNS rebinding)."},
                   {"allow-origin", "URL",
                    "a web origin whose pages may call the API (repeatable; * for any).\n"
                    "Browsers' requests from other sites get 403."},
                   {"index", "DIR", "a search index or collection built with the same model (xclip index)"},
                   {"shard", "URL",
                    "instead of --index: the front of a collection whose shards other\n"
                    "servers serve (`xclip serve --index DIR/shard-000` ...; repeatable, in\n"
                    "the order of the shards). Queries are embedded here, each shard answers\n"
                    "its top hits with X-CLIP's scores, the front merges them; a shard that\n"
                    "fails or is slower than --shard-timeout-ms is left out and reported\n"
                    "(\"partial\": true)"},
                   {"shard-key", "KEY", "the shards' API key (default: $XCLIP_SHARD_KEY, else none)"},
                   {"shard-timeout-ms", "MS", "(default 5000)"},
                   {"max-batch", "N", "texts or videos per forward (default 32)"},
                   {"max-wait-ms", "MS", "how long a forward waits for more requests (default 5)"},
                   {"max-queue", "N", "waiting texts and videos before answering 429 (default 256)"},
                   {"max-upload-mb", "N", "largest uploaded video (default 256)"},
                   {"http-threads", "N", "requests read and answered at once (default 64)"},
                   {"max-connections", "N", "open connections in all (default 512); more get 503 at once"},
                   {"max-connections-per-client", "N", "from one address (default 128)"},
                   {"request-timeout", "S",
                    "a request's head and body must arrive within S seconds, plus 1 s per\n"
                    "MiB of body (default 60; a head alone within 10)"},
                   {"max-frames", "N",
                    "most frames decoded for one request, all views together (default " +
                        std::to_string(DecodeLimits{}.max_frames) + ")"}} +
        max_pixels_option() + dtype_option() + threads_option() + quiet_option("no download progress"),
    "example:\n"
    "  xclip serve --model microsoft/xclip-base-patch32 --index ~/videos.xclip --allow-dir ~/videos\n"
    "  curl -s localhost:8080/embed/text -H 'Content-Type: application/json' -d '{\"inputs\": [\"a dog\"]}'"};

}  // namespace

int run_serve(int argc, char** argv) {
  const Args args = parse_args(kServe, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kServe);
    return 0;
  }
  if (!args.positionals().empty()) throw UsageError("unexpected argument '" + args.positionals()[0] + "'");
  server::ServerOptions o;
  o.model = args.required("model");
  o.index_dir = args.get("index");
  o.shard_urls = args.all("shard");
  o.shard_api_key = args.get("shard-key");
  if (o.shard_api_key.empty())
    if (const char* env = std::getenv("XCLIP_SHARD_KEY")) o.shard_api_key = env;
  o.shard_timeout_ms = args.get_int("shard-timeout-ms", 5000);
  if (!o.shard_urls.empty() && !o.index_dir.empty()) throw UsageError("--index and --shard exclude each other");
  if (o.shard_timeout_ms <= 0) throw UsageError("--shard-timeout-ms must be positive");
  o.host = args.get("host", "127.0.0.1");
  o.port = args.get_int("port", 8080);
  o.api_key = args.get("api-key");
  if (o.api_key.empty())
    if (const char* env = std::getenv("XCLIP_API_KEY")) o.api_key = env;
  o.allow_dirs = args.all("allow-dir");
  o.allow_sources = args.all("allow-source");
  o.allow_hosts = args.all("allow-host");
  o.decode_limits = parse_decode_limits(args);
  o.allow_origins = args.all("allow-origin");
  o.max_batch = args.get_int("max-batch", 32);
  o.max_wait_ms = args.get_int("max-wait-ms", 5);
  const int queue = args.get_int("max-queue", 256);
  const int upload_mb = args.get_int("max-upload-mb", 256);
  o.http_threads = args.get_int("http-threads", 64);
  o.max_connections = args.get_int("max-connections", 512);
  o.max_connections_per_client = args.get_int("max-connections-per-client", 128);
  o.read_timeout_seconds = args.get_int("request-timeout", 60);
  o.dtype = parse_dtype(args);
  o.num_threads = args.get_int("threads", 0);
  o.quiet = args.flag("quiet");
  if (o.port <= 0 || o.port > 65535) throw UsageError("--port must be 1 to 65535");
  if (o.max_batch <= 0 || o.max_wait_ms < 0 || queue <= 0 || upload_mb <= 0 || o.http_threads <= 0 ||
      o.max_connections <= 0 || o.max_connections_per_client <= 0 || o.read_timeout_seconds <= 0)
    throw UsageError(
        "--max-batch, --max-queue, --max-upload-mb, --http-threads, --max-connections, "
        "--max-connections-per-client and --request-timeout must be positive");
  o.max_queue = static_cast<std::size_t>(queue);
  o.max_upload_bytes = static_cast<std::size_t>(upload_mb) << 20;
  return server::run_server(o);
}

}  // namespace xclip::cli
