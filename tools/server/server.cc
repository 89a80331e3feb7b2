// The HTTP routes of xclip serve on cpp-httplib: JSON in and out, dynamic batching through
// Batcher, errors as {"error", "type"} with text-embeddings-inference's status codes.
#include "server.h"

#include <malloc.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "batcher.h"
#include "browser_policy.h"
#include "http_connection.h"
#include "http_guard.h"
#include "json_views.h"
#include "metrics.h"
#include "shard_fanout.h"
#include "video_request.h"
#include "watch_hub.h"
#include "web_assets.h"
#include "xclip/xclip.h"

namespace xclip::server {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::atomic<bool> g_stop_requested{false};

void on_stop_signal(int) { g_stop_requested = true; }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void send_error(httplib::Response& res, const HttpError& e) {
  res.status = e.status();
  // A refused request's body may still be arriving, unread: close rather than read the rest
  // as the next request.
  if (e.status() == 413 || e.status() == 401 || e.status() == 403 || e.status() == 411 || e.status() == 415)
    res.set_header("Connection", "close");
  if (e.status() == 429 || e.status() == 503) res.set_header("Retry-After", "1");
  res.set_content(error_body(e.what(), e.type()), "application/json");
}

// The server's temporary file names are nobody's business: errors say "the uploaded video".
std::string without_upload_path(std::string message, const std::string& upload_path) {
  for (std::size_t at; !upload_path.empty() && (at = message.find(upload_path)) != std::string::npos;)
    message.replace(at, upload_path.size(), "the uploaded video");
  return message;
}

std::vector<float> normalized(std::vector<float> v) {
  l2_normalize(v.data(), v.size());
  return v;
}

// Texts of {"inputs": "a" | ["a", ...]} (or "input" for the OpenAI route).
std::vector<std::string> text_inputs(const json& body, const char* field) {
  if (!body.is_object() || !body.contains(field))
    throw HttpError(422, "validation", std::string("the body needs \"") + field + "\": a string or a list of strings");
  const std::vector<std::string> out = string_list_field(body, field);
  if (out.empty()) throw HttpError(422, "validation", std::string("\"") + field + "\" is empty");
  if (out.size() > 1024) throw HttpError(413, "payload_too_large", "at most 1024 texts per request");
  for (const std::string& s : out)
    if (s.empty()) throw HttpError(422, "validation", "an input text is empty");
  return out;
}

// A small least-recently-used cache of label-set features (classify requests repeat labels).
class LabelCache {
 public:
  std::optional<Tensor> get(const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = map_.find(key);
    if (it == map_.end()) return std::nullopt;
    order_.splice(order_.begin(), order_, it->second.second);
    return it->second.first;
  }
  void put(const std::string& key, Tensor value) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (map_.count(key)) return;
    order_.push_front(key);
    map_[key] = {std::move(value), order_.begin()};
    if (map_.size() > 256) {
      map_.erase(order_.back());
      order_.pop_back();
    }
  }

 private:
  std::mutex mutex_;
  std::list<std::string> order_;
  std::map<std::string, std::pair<Tensor, std::list<std::string>::iterator>> map_;
};

// Sessions for the cheap per-request steps (label logits against a video's features).
class SessionPool {
 public:
  explicit SessionPool(std::shared_ptr<const Model> model) : model_(std::move(model)) {}
  template <class F>
  auto with(F f) {
    std::unique_ptr<Session> s;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        s = std::move(free_.back());
        free_.pop_back();
      }
    }
    if (!s) s = std::make_unique<Session>(model_);
    const std::size_t held = s->workspace_bytes();
    auto result = f(*s);
    workspace_bytes_ += s->workspace_bytes() - held;
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(s));
    return result;
  }
  // Activation memory of all its sessions (each at its high-water mark).
  std::size_t workspace_bytes() const { return workspace_bytes_; }

 private:
  std::shared_ptr<const Model> model_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Session>> free_;
  std::atomic<std::size_t> workspace_bytes_{0};
};

// Route name for metrics: the path with ids replaced.
std::string route_of(const std::string& path) {
  if (path.rfind("/media/thumbnails/", 0) == 0) return "/media/thumbnails";
  if (path.rfind("/media/videos/", 0) == 0) return "/media/videos";
  static const std::vector<std::string> known = {"/health", "/info", "/metrics", "/embed/text", "/v1/embeddings",
                                                 "/embed/video", "/classify", "/search", "/", "/app.js", "/style.css"};
  return std::find(known.begin(), known.end(), path) != known.end() ? path : "other";
}

thread_local std::chrono::steady_clock::time_point t_request_start;

}  // namespace

class Server {
 public:
  explicit Server(ServerOptions o)
      : options_(std::move(o)), upload_dir_(make_private_dir()), http_(connection_limits(options_)) {
    policy_.bound_host = options_.host;
    policy_.port = options_.port;
    policy_.allow_hosts = options_.allow_hosts;
    policy_.allow_origins = options_.allow_origins;
    if (!options_.shard_urls.empty()) {
      if (!options_.index_dir.empty())
        throw InvalidArgument("--index and --shard exclude each other: serve a local index, or be the front of shards");
      fanout_ = std::make_unique<ShardFanout>(options_.shard_urls, options_.shard_api_key, options_.shard_timeout_ms);
    }
  }
  ~Server() {
    std::error_code ec;
    fs::remove_all(upload_dir_, ec);
  }

  int run() {
    configure_http();
    routes();
    if (!http_.bind_to_port(options_.host, options_.port))
      throw std::runtime_error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                               " (in use, or not an address of this machine)");
    // Debian's httplib listens with a backlog of 5: concurrent clients opening connections
    // would be dropped (retried a second later). Linux takes a new backlog from listen() again.
    if (listen_socket_ >= 0) ::listen(listen_socket_, 1024);
    install_signal_handlers();
    std::thread loader([this] { load(); });
    std::thread watcher([this] {
      while (!g_stop_requested && !stopping_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        trim_heap_when_idle();
      }
      http_.begin_stop();  // connections stop waiting for slow clients
      http_.stop();        // stops accepting; answers in progress finish before listen returns
    });
    if (!options_.quiet)
      std::fprintf(stderr, "xclip serve: listening on http://%s:%d (model loading)\n", options_.host.c_str(),
                   options_.port);
    http_.listen_after_bind();
    stopping_ = true;
    watcher.join();
    loader.join();
    if (watches_) watches_->close();  // live watches stop; their threads are joined
    batcher_.reset();  // finishes whatever is queued
    if (!options_.quiet) std::fprintf(stderr, "xclip serve: stopped\n");
    return 0;
  }

 private:
  void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
  }

  void configure_http() {
    http_.set_socket_options([this](int sock) {
      httplib::default_socket_options(sock);
      listen_socket_ = sock;
    });
    http_.set_payload_max_length(options_.max_upload_bytes);
    http_.set_read_timeout(options_.read_timeout_seconds, 0);
    http_.set_write_timeout(options_.read_timeout_seconds, 0);
    http_.set_keep_alive_timeout(5);
    http_.set_tcp_nodelay(true);  // else each keep-alive answer waits ~40 ms (Nagle and delayed ACKs)
    http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      t_request_start = std::chrono::steady_clock::now();
      note_activity();
      return browser_safe(req, res) && authorize(req, res) && body_allowed(req, res)
                 ? httplib::Server::HandlerResponse::Unhandled
                 : httplib::Server::HandlerResponse::Handled;
    });
    http_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      const char* type = res.status == 404 ? "not_found" : res.status == 413 ? "payload_too_large" : "http_error";
      res.set_content(error_body(res.status == 404 ? "no such route" : "HTTP error " + std::to_string(res.status), type),
                      "application/json");
    });
    http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
      res.status = 500;
      res.set_content(error_body("internal error", "server_error"), "application/json");
    });
    http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count();
      metrics_.observe_request(route_of(req.path), res.status, seconds);
      note_activity();
    });
  }

  void note_activity() {
    last_activity_ = std::chrono::steady_clock::now();
    served_since_trim_ = true;
  }

  // After a burst, a second without requests hands the pages malloc keeps free back to the
  // system. Requests decode video on their own threads, so glibc gives each its own arena,
  // and megabytes of freed frames would otherwise stay resident in every one of them.
  void trim_heap_when_idle() {
    if (!served_since_trim_) return;
    if (std::chrono::steady_clock::now() - last_activity_.load() < std::chrono::seconds(1)) return;
    if (ready_ && batcher_->queue_depth() > 0) return;  // ready_ is set after batcher_ is (no race with load)
    served_since_trim_ = false;
    malloc_trim(0);
  }

  static ConnectionLimits connection_limits(const ServerOptions& o) {
    ConnectionLimits l;
    l.max_connections = o.max_connections;
    l.max_per_client = o.max_connections_per_client;
    l.max_active_requests = o.http_threads;
    l.request_timeout_seconds = o.read_timeout_seconds;
    l.head_timeout_seconds = std::min(10, o.read_timeout_seconds);
    l.max_body_bytes = o.max_upload_bytes;
    return l;
  }

  static bool is_json_route(const std::string& path) {
    return path == "/embed/text" || path == "/v1/embeddings" || path == "/search" || path == "/watch";
  }

  // A POST body's content type must be one its route takes; JSON bodies are small: one larger
  // than the JSON limit is refused from its announced size, before it is read (cpp-httplib
  // would buffer it up to the upload limit first).
  bool body_allowed(const httplib::Request& req, httplib::Response& res) {
    if (req.method != "POST") return true;
    try {  // no form side doors (browser_policy.h), refused before anything else
      const bool video = req.path == "/embed/video" || req.path == "/classify";
      if (video || is_json_route(req.path))
        check_content_type(video ? BodyKind::Video : BodyKind::Json, req.get_header_value("Content-Type"));
    } catch (const HttpError& e) {
      send_error(res, e);
      return false;
    }
    if (!is_json_route(req.path)) return true;
    if (req.get_header_value("Transfer-Encoding") == "chunked") {
      send_error(res, HttpError(411, "length_required", "a JSON body needs a Content-Length"));
      return false;
    }
    const std::uint64_t announced = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    if (announced <= options_.max_json_bytes) return true;
    send_error(res, HttpError(413, "payload_too_large",
                              "the JSON body announces " + std::to_string(announced) + " bytes, more than the limit of " +
                                  std::to_string(options_.max_json_bytes)));
    return false;
  }

  static bool is_page_file(const std::string& path) {
    return path == "/" || path == "/app.js" || path == "/style.css";
  }

  // Host names this server (DNS rebinding); Origin, when a browser sends one, is this
  // server's page (cross-site requests). See browser_policy.h.
  bool browser_safe(const httplib::Request& req, httplib::Response& res) {
    try {
      const std::string host = req.get_header_value("Host");
      check_host(policy_, host);
      if (!is_page_file(req.path)) check_origin(policy_, req.get_header_value("Origin"), host);
      return true;
    } catch (const HttpError& e) {
      send_error(res, e);
      return false;
    }
  }

  // The key is needed everywhere but the health check and the page's static files; media
  // may carry it as ?key= (an <img> or <video> cannot send a header).
  bool authorize(const httplib::Request& req, httplib::Response& res) {
    if (options_.api_key.empty()) return true;
    const std::string& p = req.path;
    if (p == "/health" || p == "/" || p == "/app.js" || p == "/style.css") return true;
    if (bearer_matches(req.get_header_value("Authorization"), options_.api_key)) return true;
    if ((p.rfind("/media/", 0) == 0 || p == "/events") && constant_time_equal(req.get_param_value("key"), options_.api_key))
      return true;
    send_error(res, HttpError(401, "unauthorized", "missing or wrong API key (Authorization: Bearer KEY)"));
    return false;
  }

  // Model, processor, batcher and index load on their own thread: /health says 503 until then.
  void load() {
    try {
      LoadOptions load;
      load.weights = options_.dtype;
      load.num_threads = options_.num_threads;
      model_ = Model::load(options_.model, load);
      processor_ = std::make_unique<XCLIPProcessor>(XCLIPProcessor::from_folder(model_->path()));
      BatcherOptions b;
      b.max_batch = options_.max_batch;
      b.max_wait = std::chrono::milliseconds(options_.max_wait_ms);
      b.max_queue = options_.max_queue;
      batcher_ = std::make_unique<Batcher>(model_, *processor_, b, BatchStats{[this](const char* kind, std::size_t n) {
                                             metrics_.observe_batch(kind, n);
                                           }});
      sessions_ = std::make_unique<SessionPool>(model_);
      watches_ = std::make_unique<WatchHub>(model_, options_.allow_sources, upload_dir_, options_.decode_limits);
      if (!options_.index_dir.empty()) {
        IndexOpenOptions io;
        io.model = options_.model;
        io.loaded_model = model_;
        io.create = false;
        io.num_threads = options_.num_threads;
        index_ = std::make_unique<VideoIndex>(VideoIndex::open(options_.index_dir, io));
        index_windows_ = index_->info().windows;
      }
      Metrics::Gauges gauges;
      gauges.queue_depth = [this] { return batcher_->queue_depth(); };
      gauges.index_windows = [this] { return index_windows_.load(); };
      gauges.workspace_bytes = [this] { return batcher_->workspace_bytes() + sessions_->workspace_bytes(); };
      metrics_.set_gauges(std::move(gauges));
      ready_ = true;
      if (!options_.quiet) std::fprintf(stderr, "xclip serve: ready (%s)\n", model_->path().c_str());
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(load_mutex_);
      load_error_ = e.what();
      std::fprintf(stderr, "xclip serve: cannot load: %s\n", e.what());
    }
  }

  void require_ready() const {
    if (ready_) return;
    std::lock_guard<std::mutex> lock(load_mutex_);
    throw HttpError(503, "unavailable", load_error_.empty() ? "the model is loading" : "the model failed to load: " + load_error_);
  }

  // Wraps a route: HttpError and library errors become JSON answers.
  template <class F>
  httplib::Server::Handler guarded(F f) {
    return [this, f](const httplib::Request& req, httplib::Response& res) {
      try {
        f(req, res);
      } catch (const HttpError& e) {
        send_error(res, e);
      } catch (const QueueFull& e) {
        send_error(res, HttpError(429, "overloaded", e.what()));
      } catch (const InvalidArgument& e) {
        send_error(res, HttpError(422, "validation", e.what()));
      } catch (const FormatError& e) {
        send_error(res, HttpError(422, "validation", e.what()));
      } catch (const IoError& e) {
        send_error(res, HttpError(404, "not_found", e.what()));
      } catch (const std::exception& e) {
        send_error(res, HttpError(500, "server_error", e.what()));
      }
    };
  }

  template <class F>
  auto locked_index(F f) {
    std::lock_guard<std::mutex> lock(index_mutex_);
    return f(*index_);
  }

  // The content type was checked before routing (body_allowed).
  json parse(const httplib::Request& req) const { return parse_json_body(req.body, options_.max_json_bytes); }

  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) {
    return batcher_->embed_texts(texts).get();
  }

  void routes() {
    http_.Get("/health", guarded([this](const httplib::Request&, httplib::Response& res) {
      require_ready();
      send_json(res, 200, {{"status", "ok"}});
    }));
    http_.Get("/info", guarded([this](const httplib::Request&, httplib::Response& res) { info(res); }));
    http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_.render(), "text/plain; version=0.0.4");
    });
    http_.Post("/embed/text", guarded([this](const httplib::Request& req, httplib::Response& res) {
      require_ready();
      const json body = parse(req);
      const std::vector<std::string> texts = text_inputs(body, "inputs");
      const bool normalize = field_or<bool>(body, "normalize", true);
      json out = json::array();
      for (auto& row : embed(texts)) out.push_back(normalize ? normalized(std::move(row)) : row);
      send_json(res, 200, out);
    }));
    http_.Post("/v1/embeddings", guarded([this](const httplib::Request& req, httplib::Response& res) {
      require_ready();
      const json body = parse(req);
      const std::vector<std::string> texts = text_inputs(body, "input");
      const std::string format = field_or<std::string>(body, "encoding_format", "float");
      if (format != "float") throw HttpError(422, "validation", "encoding_format must be \"float\"");
      json data = json::array();
      std::size_t i = 0;
      for (auto& row : embed(texts))
        data.push_back({{"object", "embedding"}, {"index", i++}, {"embedding", normalized(std::move(row))}});
      std::size_t tokens = 0;
      for (const std::string& t : texts) tokens += processor_->tokenizer().encode(t).input_ids.size();
      send_json(res, 200,
                {{"object", "list"},
                 {"data", data},
                 {"model", field_or<std::string>(body, "model", options_.model)},
                 {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
    }));
    http_.Post("/embed/video", with_video([this](VideoRequest& v, httplib::Response& res) {
      const VideoViews views = video_views(v);
      std::vector<float> rows;
      for (const VideoSearchFeatures& f : views.features)
        rows.insert(rows.end(), f.video_embeds.data<float>(), f.video_embeds.data<float>() + f.video_embeds.numel());
      const auto dim = static_cast<std::size_t>(model_->config().projection_dim);
      std::vector<float> e = average_view_embeddings(rows.data(), views.features.size(), dim);
      if (field_or<bool>(v.options, "normalize", true)) e = normalized(std::move(e));
      json answer = views.frame_indices_json();
      answer["embedding"] = e;
      send_json(res, 200, answer);
    }));
    http_.Post("/classify", with_video([this](VideoRequest& v, httplib::Response& res) { classify(v, res); }));
    http_.Post("/search", guarded([this](const httplib::Request& req, httplib::Response& res) { search(req, res); }));
    http_.Get(R"(/media/thumbnails/(\d+)\.jpg)",
              guarded([this](const httplib::Request& req, httplib::Response& res) { thumbnail(req, res); }));
    http_.Get(R"(/media/videos/(\d+))",
              guarded([this](const httplib::Request& req, httplib::Response& res) { media_video(req, res); }));
    http_.Post("/watch", guarded([this](const httplib::Request& req, httplib::Response& res) {
      require_ready();
      send_json(res, 201, watches_->start(parse(req)));
    }));
    http_.Get("/watch", guarded([this](const httplib::Request&, httplib::Response& res) {
      require_ready();
      send_json(res, 200, {{"watches", watches_->list()}});
    }));
    http_.Delete(R"(/watch/(\d{1,18}))", guarded([this](const httplib::Request& req, httplib::Response& res) {
      require_ready();
      const std::int64_t id = std::stoll(req.matches[1]);
      if (!watches_->stop(id)) throw HttpError(404, "not_found", "no watch " + std::to_string(id));
      send_json(res, 200, {{"id", id}, {"stopped", true}});
    }));
    http_.Get("/events", guarded([this](const httplib::Request& req, httplib::Response& res) { events(req, res); }));
    http_.Get(R"(/media/watch/(\d{1,18})/([A-Za-z0-9.\-]+))",
              guarded([this](const httplib::Request& req, httplib::Response& res) {
                require_ready();
                const std::string file = watches_->thumbnail(std::stoll(req.matches[1]), req.matches[2]);
                if (file.empty()) throw HttpError(404, "not_found", "no such event thumbnail");
                std::ifstream in(file, std::ios::binary);
                res.set_content(std::string(std::istreambuf_iterator<char>(in), {}), "image/jpeg");
              }));
    http_.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy", page_security_policy());
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_content(web::kIndexHtml, "text/html; charset=utf-8");
    });
    http_.Get("/app.js", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(web::kAppJs, "text/javascript; charset=utf-8");
    });
    http_.Get("/style.css", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(web::kStyleCss, "text/css; charset=utf-8");
    });
  }

  void info(httplib::Response& res) {
    require_ready();
    const XCLIPConfig& c = model_->config();
    json out = {{"model", options_.model},
                {"path", model_->path()},
                {"revision", snapshot_revision(model_->path())},
                {"dtype", weight_type_name(model_->weights())},
                {"num_frames", c.vision_config.num_frames},
                {"image_size", c.vision_config.image_size},
                {"projection_dim", c.projection_dim},
                {"config",
                 {{"text_layers", c.text_config.num_hidden_layers},
                  {"vision_layers", c.vision_config.num_hidden_layers},
                  {"patch_size", c.vision_config.patch_size}}},
                {"max_batch", options_.max_batch},
                {"version", XCLIP_VERSION_STRING}};
    if (index_) {
      const IndexInfo i = locked_index([&](VideoIndex& x) { return x.info(); });
      out["index"] = views::index_info<json>(i);
    }
    if (fanout_) out["index"] = {{"shard_urls", fanout_->urls()}, {"shards", fanout_->size()}};
    out["watch"] = {{"sources", options_.allow_sources.size()}};
    send_json(res, 200, out);
  }

  // ---- videos in requests ----

  // Reads a video request: multipart (a "video" file part and form fields), JSON
  // {"path": ...} inside an allowed root, or the raw body. Uploads stream into a private
  // temporary file, removed after the request.
  template <class F>
  httplib::Server::HandlerWithContentReader with_video(F f) {
    return [this, f](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
      auto handler = guarded([&](const httplib::Request&, httplib::Response& r) {
        require_ready();
        TempFile upload(upload_dir_);
        VideoRequest v = read_video_request(req, reader, upload);
        try {
          f(v, r);
        } catch (const InvalidArgument& e) {
          throw HttpError(422, "validation", without_upload_path(e.what(), upload.path()));
        } catch (const FormatError& e) {
          throw HttpError(422, "validation", without_upload_path(e.what(), upload.path()));
        }
      });
      handler(req, res);
    };
  }

  // The body goes through VideoRequestReader piece by piece; httplib stops reading when a
  // receiver returns false, so the reader's error is kept and thrown after (an exception must
  // not cross httplib's reading loop).
  VideoRequest read_video_request(const httplib::Request& req, const httplib::ContentReader& raw_reader,
                                  TempFile& upload) {
    if (req.has_header("Content-Length") &&
        std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10) > options_.max_upload_bytes)
      throw HttpError(413, "payload_too_large",
                      "the request is larger than the upload limit of " + std::to_string(options_.max_upload_bytes) +
                          " bytes");
    const VideoRequestLimits limits{options_.max_upload_bytes, options_.max_json_bytes, options_.allow_dirs};
    // Content-Type was checked before routing (body_allowed).
    VideoRequestReader reader(video_body_of(req.get_header_value("Content-Type")), limits, upload);
    std::exception_ptr failure;
    auto kept = [&failure](auto&& f) {
      return [&failure, f](auto&&... args) {
        try {
          return f(args...);
        } catch (...) {
          failure = std::current_exception();
          return false;
        }
      };
    };
    const auto receive = kept([&](const char* data, std::size_t n) {
      reader.append(data, n);
      return true;
    });
    bool complete = true;
    if (req.is_multipart_form_data()) {
      complete = raw_reader(httplib::MultipartContentHeader(kept([&](const httplib::MultipartFormData& part) {
                              reader.begin_part(part.name);
                              return true;
                            })),
                            httplib::ContentReceiver(receive));
    } else {
      raw_reader(httplib::ContentReceiver(receive));
    }
    if (failure) std::rethrow_exception(failure);
    return reader.finish(complete, {req.params.begin(), req.params.end()});
  }

  // A video's views as the library prepares them (the CLI's and Python's sampling options),
  // each through the vision tower.
  struct VideoViews {
    std::vector<VideoSearchFeatures> features;
    std::vector<std::vector<std::int64_t>> frame_indices;

    json frame_indices_json() const {
      return {{"frame_indices", frame_indices.front()}, {"views", frame_indices}};
    }
  };

  // Decoded and preprocessed on the request's thread (decoding scales with the
  // connections); the vision tower runs batched, every view of every request together.
  VideoViews video_views(const VideoRequest& v) {
    VideoOpenOptions open;
    open.limits = options_.decode_limits;
    open.seek = seek_of(v.options);
    SamplingOptions s = sampling_of(v.options, model_->config().vision_config.num_frames, open.limits.max_frames);
    s.num_frames = frames_for_model(*model_, s);  // before any decoding: a batch holds one frame count
    VideoReader reader = VideoReader::open(v.path, open);
    // Frames are reduced to the model's input size as they are decoded: an 8K video costs
    // the decoder's pictures, not eight full-size RGB copies.
    PreparedClips prepared = prepare_video(reader, s, processor_->video_processor());
    metrics_.add_videos_decoded();
    std::vector<std::future<VideoSearchFeatures>> pending;
    for (Tensor& clip : prepared.clips) pending.push_back(batcher_->embed_video(std::move(clip)));
    VideoViews views;
    for (auto& f : pending) views.features.push_back(f.get());
    views.frame_indices = std::move(prepared.indices);
    return views;
  }

  Tensor label_features(const std::vector<std::string>& labels, const std::string& tmpl) {
    std::string key = tmpl;
    for (const std::string& l : labels) key += '\x1f' + l;
    if (auto hit = label_cache_.get(key)) return *hit;
    std::vector<std::string> prompts;
    for (const std::string& l : labels) prompts.push_back(apply_template(tmpl, l));
    const auto rows = embed(prompts);
    Tensor t = Tensor::empty(DType::F32, {static_cast<std::int64_t>(rows.size()), model_->config().projection_dim});
    for (std::size_t i = 0; i < rows.size(); ++i)
      std::copy(rows[i].begin(), rows[i].end(), t.mutable_data<float>() + i * rows[i].size());
    label_cache_.put(key, t);
    return t;
  }

  void classify(VideoRequest& v, httplib::Response& res) {
    const json& o = v.options;
    if (!o.contains("labels") || !o["labels"].is_array() || o["labels"].empty())
      throw HttpError(422, "validation", "classify needs \"labels\": a non-empty list of strings");
    std::vector<std::string> labels;
    for (const json& l : o["labels"]) {
      if (!l.is_string() || l.get<std::string>().empty())
        throw HttpError(422, "validation", "\"labels\" must hold non-empty strings");
      labels.push_back(l.get<std::string>());
    }
    if (labels.size() > 1024) throw HttpError(413, "payload_too_large", "at most 1024 labels");
    const std::string tmpl = field_or<std::string>(o, "template", "{}");
    const int top = field_or<int>(o, "top", static_cast<int>(labels.size()));
    if (top <= 0) throw HttpError(422, "validation", "\"top\" must be positive");
    const Tensor text = label_features(labels, tmpl);
    const VideoViews views = video_views(v);
    std::vector<float> logits;
    for (const VideoSearchFeatures& f : views.features) {
      const Tensor l = sessions_->with([&](Session& session) { return session.logits_from_video_features(f, text); });
      logits.insert(logits.end(), l.data<float>(), l.data<float>() + l.numel());
    }
    const ViewAverage scores = average_view_scores(logits.data(), views.features.size(), labels.size());
    json out = json::array();
    for (const LabelScore& r : rank_labels(labels, scores.probabilities, scores.logits, static_cast<std::size_t>(top)))
      out.push_back({{"label", r.label}, {"probability", r.probability}, {"logit", r.logit}});
    json answer = views.frame_indices_json();
    answer["labels"] = out;
    send_json(res, 200, answer);
  }

  // ---- live watches ----

  // Server-Sent Events: every watch's event, skip, gap and status records (and its window
  // records with ?windows=1), as they happen; a comment every 15 s keeps proxies from closing
  // a quiet stream. The stream ends when the server stops.
  void events(const httplib::Request& req, httplib::Response& res) {
    require_ready();
    auto subscriber = watches_->subscribe(req.get_param_value("windows") == "1");
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    WatchHub* hub = watches_.get();
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, hub, subscriber](std::size_t, httplib::DataSink& sink) {
          std::string out;
          for (int quiet = 0; out.empty() && quiet < 15 && !stopping_ && !g_stop_requested; ++quiet)
            if (!hub->next_messages(*subscriber, out, std::chrono::seconds(1))) return false;
          if (stopping_ || g_stop_requested) return false;
          if (out.empty()) out = ": keep-alive\n\n";
          return sink.write(out.data(), out.size());
        },
        [hub, subscriber](bool) { hub->unsubscribe(subscriber); });
  }

  // ---- search and media ----

  void require_index() const {
    if (!index_ && !fanout_)
      throw HttpError(404, "not_found", "this server has no index (start it with --index DIR or --shard URL)");
  }

  // A query's embedding as a shard server receives it from a front server: a list of
  // projection_dim finite numbers (the index checks the length).
  static Tensor embedding_field(const json& body, const char* name) {
    const json& v = body[name];
    if (!v.is_array() || v.empty() || v.size() > 65536)
      throw HttpError(422, "validation", std::string("\"") + name + "\" must be a list of numbers");
    std::vector<float> row;
    for (const json& x : v) {
      if (!x.is_number() || !std::isfinite(x.get<double>()))
        throw HttpError(422, "validation", std::string("\"") + name + "\" must hold finite numbers only");
      row.push_back(x.get<float>());
    }
    return Tensor::from_values<float>(DType::F32, {1, static_cast<std::int64_t>(row.size())}, row.data());
  }

  static json embedding_json(const Tensor& t) { return std::vector<float>(t.data<float>(), t.data<float>() + t.numel()); }

  // The query as an embedding: a text (embedded here), a video (decoded and embedded here),
  // or an embedding a front server computed. `by_video` tells the two kinds apart.
  Tensor query_embedding(const json& body, bool& by_video) {
    by_video = body.contains("like_path") || body.contains("video_embeds");
    if (body.contains("text_embeds")) return embedding_field(body, "text_embeds");
    if (body.contains("video_embeds")) return embedding_field(body, "video_embeds");
    if (body.contains("like_path")) {
      // Decoded and embedded before the index is locked: a large video must not stall searches.
      VideoRequest like;
      like.path = confine_path(field_or<std::string>(body, "like_path", ""), options_.allow_dirs);
      like.options = json::object();
      return video_views(like).features.front().video_embeds;
    }
    const std::string query = field_or<std::string>(body, "query", "");
    if (query.empty())
      throw HttpError(422, "validation", "search needs \"query\" (text), \"like_path\", \"text_embeds\" or \"video_embeds\"");
    const auto rows = embed({query});
    return Tensor::from_values<float>(DType::F32, {1, static_cast<std::int64_t>(rows[0].size())}, rows[0].data());
  }

  void search(const httplib::Request& req, httplib::Response& res) {
    require_ready();
    require_index();
    const json body = parse(req);
    SearchOptions o;
    o.top = field_or<int>(body, "top", 10);
    o.rerank = field_or<int>(body, "rerank", 100);
    if (o.top <= 0 || o.top > 1000) throw HttpError(422, "validation", "\"top\" must be 1 to 1000");
    if (o.rerank < 0 || o.rerank > 10000) throw HttpError(422, "validation", "\"rerank\" must be 0 to 10000");
    bool by_video = false;
    const Tensor embedding = query_embedding(body, by_video);
    if (fanout_) {
      const json query = {{by_video ? "video_embeds" : "text_embeds", embedding_json(embedding)},
                          {"top", o.top},
                          {"rerank", o.rerank}};
      const FanoutAnswer answer = fanout_->search(query, o.top);
      json shards = json::array();
      for (const ShardStatus& st : answer.shards) shards.push_back(to_json(st));
      send_json(res, 200, {{"hits", answer.hits}, {"partial", answer.partial()}, {"shards", shards}});
      return;
    }
    const std::vector<SearchHit> hits = locked_index([&](VideoIndex& x) {
      return by_video ? x.search_video_features(embedding, o) : x.search_text_features(embedding, o);
    });
    json out = json::array();
    for (const SearchHit& h : hits) {
      json hit = views::search_hit<json>(h);
      hit["thumbnail"] = "/media/thumbnails/" + std::to_string(h.window_id) + ".jpg";
      hit["video"] = "/media/videos/" + std::to_string(h.window_id);
      out.push_back(hit);
    }
    send_json(res, 200, {{"hits", out}, {"partial", false}});
  }

  void thumbnail(const httplib::Request& req, httplib::Response& res) {
    require_ready();
    require_index();
    const std::int64_t id = window_id(req.matches[1]);
    if (fanout_) return fanout_->media("thumbnail", id, "", res);
    std::vector<std::uint8_t> jpeg;
    try {
      jpeg = locked_index([&](VideoIndex& x) { return x.thumbnail(id); });
    } catch (const InvalidArgument&) {
      throw HttpError(404, "not_found", "no window " + std::to_string(id) + " in the index");
    }
    res.set_header("Cache-Control", "max-age=3600");
    res.set_content(std::string(jpeg.begin(), jpeg.end()), "image/jpeg");
  }

  // The video file of an indexed window, with Range support (browsers seek with it). Only
  // files the index holds are served, and only where they really are (after every symlink)
  // in the folder they were indexed in or an --allow-dir folder: there is no path in the
  // URL to traverse with, and a file swapped for a symlink is not followed out.
  void media_video(const httplib::Request& req, httplib::Response& res) {
    require_ready();
    require_index();
    const std::int64_t id = window_id(req.matches[1]);
    if (fanout_) return fanout_->media("video", id, req.get_header_value(kRangeField), res);
    const auto window = locked_index([&](VideoIndex& x) { return x.window(id); });
    const std::string path = window ? resolve_within(window->path, options_.allow_dirs) : "";
    const HttpError missing(404, "not_found", "no video for window " + std::to_string(id));
    if (path.empty()) throw missing;
    auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
    std::error_code ec;
    const std::uint64_t size = fs::file_size(path, ec);
    if (!*file || ec) throw missing;
    const std::string ext = fs::path(path).extension().string();
    const char* mime = ext == ".webm" ? "video/webm" : ext == ".mkv" ? "video/x-matroska" : "video/mp4";
    std::optional<ByteRange> range;
    try {
      range = parse_byte_range(req.get_header_value(kRangeField), size);
    } catch (const HttpError& e) {
      res.set_header("Content-Range", "bytes */" + std::to_string(size));
      throw;
    }
    res.set_header("Accept-Ranges", "bytes");
    std::uint64_t first = 0, length = size;
    if (range) {
      first = range->first;
      length = range->last - range->first + 1;
      res.status = 206;
      res.set_header("Content-Range", "bytes " + std::to_string(range->first) + "-" + std::to_string(range->last) +
                                          "/" + std::to_string(size));
    }
    res.set_content_provider(length, mime, [file, first](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
      std::vector<char> buf(std::min<std::size_t>(length, 1 << 16));
      file->seekg(static_cast<std::streamoff>(first + offset));
      file->read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const std::streamsize got = file->gcount();
      if (got <= 0) return false;
      return sink.write(buf.data(), static_cast<std::size_t>(got));
    });
  }

  // A window id from the URL (digits by the route's pattern): one too large for any window
  // is simply not there.
  static std::int64_t window_id(const std::string& digits) {
    if (digits.size() > 18) throw HttpError(404, "not_found", "no window " + digits + " in the index");
    return std::stoll(digits);
  }

  ServerOptions options_;
  BrowserPolicy policy_;
  std::string upload_dir_;
  GuardedHttpServer http_;
  Metrics metrics_;
  std::atomic<bool> ready_{false}, stopping_{false};
  std::atomic<bool> served_since_trim_{false};
  std::atomic<std::chrono::steady_clock::time_point> last_activity_{};
  int listen_socket_ = -1;
  mutable std::mutex load_mutex_;
  std::string load_error_;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<XCLIPProcessor> processor_;
  std::unique_ptr<Batcher> batcher_;
  std::unique_ptr<SessionPool> sessions_;
  std::unique_ptr<VideoIndex> index_;
  std::unique_ptr<ShardFanout> fanout_;  // --shard: the front of shards served elsewhere
  std::unique_ptr<WatchHub> watches_;     // /watch and /events
  std::mutex index_mutex_;
  std::atomic<std::int64_t> index_windows_{0};
  LabelCache label_cache_;
};

int run_server(const ServerOptions& options) {
  Server server(options);
  return server.run();
}

}  // namespace xclip::server
