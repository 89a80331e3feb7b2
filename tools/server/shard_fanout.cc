#include "shard_fanout.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "http_guard.h"
#include "xclip/error.h"

namespace xclip::server {

using json = nlohmann::json;

namespace {

constexpr std::size_t kMaxAnswerBytes = 16u << 20;  // a shard's /search answer
constexpr std::uint64_t kMaxMediaChunk = 8u << 20;  // bytes of video per proxied request

void configure(httplib::Client& client, int timeout_ms) {
  const auto seconds = timeout_ms / 1000, micros = (timeout_ms % 1000) * 1000;
  client.set_connection_timeout(seconds, micros);
  client.set_read_timeout(seconds, micros);
  client.set_write_timeout(seconds, micros);
  client.set_keep_alive(false);
}

// The hits of one shard's answer, checked: a shard is another program on the network.
json checked_hits(const std::string& body) {
  if (body.size() > kMaxAnswerBytes) throw FormatError("answer larger than " + std::to_string(kMaxAnswerBytes) + " bytes");
  const json answer = json::parse(body, nullptr, false);
  if (!answer.is_object() || !answer.contains("hits") || !answer["hits"].is_array())
    throw FormatError("the answer is not a search result ({\"hits\": [...]})");
  for (const json& h : answer["hits"])
    if (!h.is_object() || !h.value("score", json()).is_number() || !h.value("window_id", json()).is_number_integer() ||
        !h.value("path", json()).is_string())
      throw FormatError("a hit without score, window_id or path");
  return answer["hits"];
}

// The Range asked of a shard for a browser's Range (or none): at most one chunk of bytes, so
// that the front holds at most that much of a request in memory.
std::string bounded_range(const std::string& range) {
  const auto chunk = [](std::uint64_t first) {
    return "bytes=" + std::to_string(first) + "-" + std::to_string(first + kMaxMediaChunk - 1);
  };
  if (range.empty()) return chunk(0);
  if (range.rfind("bytes=-", 0) == 0) {  // the last N bytes
    const std::uint64_t suffix = std::strtoull(range.c_str() + 7, nullptr, 10);
    if (suffix == 0 || suffix > kMaxMediaChunk)
      throw HttpError(416, "range_not_satisfiable", "ask for at most " + std::to_string(kMaxMediaChunk) + " bytes at once");
    return range;
  }
  const auto parsed = parse_byte_range(range, std::numeric_limits<std::uint64_t>::max() / 2);
  if (!parsed) return chunk(0);
  if (parsed->last - parsed->first + 1 <= kMaxMediaChunk) return range;
  return chunk(parsed->first);
}

}  // namespace

ShardTarget parse_shard_url(const std::string& url) {
  static const std::regex pattern(R"(^(http)://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[^?#]*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, pattern))
    throw InvalidArgument("shard URL '" + url + "': expected http://HOST[:PORT][/PREFIX]");
  ShardTarget t;
  t.url = url;
  t.origin = m[1].str() + "://" + m[2].str() + (m[3].matched ? m[3].str() : ":80");
  t.path_prefix = m[4].matched ? m[4].str() : "";
  while (!t.path_prefix.empty() && t.path_prefix.back() == '/') t.path_prefix.pop_back();
  return t;
}

bool FanoutAnswer::partial() const {
  return std::any_of(shards.begin(), shards.end(), [](const ShardStatus& s) { return !s.ok; });
}

json to_json(const ShardStatus& s) {
  json j = {{"url", s.url}, {"ok", s.ok}, {"hits", s.hits}, {"ms", s.milliseconds}};
  if (!s.ok) j["error"] = s.error;
  return j;
}

ShardFanout::ShardFanout(const std::vector<std::string>& urls, std::string api_key, int timeout_ms)
    : api_key_(std::move(api_key)), timeout_ms_(timeout_ms) {
  if (timeout_ms <= 0) throw InvalidArgument("the shard timeout must be positive");
  for (const std::string& url : urls) targets_.push_back(parse_shard_url(url));
}

std::vector<std::string> ShardFanout::urls() const {
  std::vector<std::string> out;
  for (const ShardTarget& t : targets_) out.push_back(t.url);
  return out;
}

namespace {

// One shard's answer. It takes copies of what it needs: a slow shard's thread may outlive the
// front (a server stopping while it waits).
ShardStatus ask_shard(const ShardTarget& t, const std::string& api_key, int timeout_ms, const std::string& body,
                      json& hits) {
  ShardStatus status;
  status.url = t.url;
  const auto started = std::chrono::steady_clock::now();
  try {
    httplib::Client client(t.origin);
    configure(client, timeout_ms);
    httplib::Headers headers;
    if (!api_key.empty()) headers.emplace("Authorization", "Bearer " + api_key);
    const auto res = client.Post(t.path_prefix + "/search", headers, body, "application/json");
    if (!res) {
      status.error = "no answer: " + httplib::to_string(res.error());
    } else if (res->status != 200) {
      status.error = "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300);
    } else {
      hits = checked_hits(res->body);
      status.ok = true;
      status.hits = hits.size();
    }
  } catch (const std::exception& e) {
    status.error = std::string("bad answer: ") + e.what();
  }
  status.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return status;
}

}  // namespace

FanoutAnswer ShardFanout::search(const json& query, int top) const {
  // Each shard is asked on its own thread, which owns its share of the state: a shard still
  // talking at the deadline is reported as timed out and left to finish on its own.
  struct State {
    std::mutex mutex;
    std::condition_variable done;
    std::vector<ShardStatus> status;
    std::vector<json> hits;
    std::vector<bool> finished;
    std::size_t pending = 0;
  };
  const std::size_t n = targets_.size();
  auto state = std::make_shared<State>();
  state->status.resize(n);
  state->hits.assign(n, json::array());
  state->finished.assign(n, false);
  state->pending = n;
  const std::string body = query.dump();
  for (std::size_t s = 0; s < n; ++s) {
    std::thread([target = targets_[s], key = api_key_, timeout = timeout_ms_, state, s, body] {
      json hits = json::array();
      ShardStatus status = ask_shard(target, key, timeout, body, hits);
      std::lock_guard<std::mutex> lock(state->mutex);
      state->status[s] = std::move(status);
      state->hits[s] = std::move(hits);
      state->finished[s] = true;
      if (--state->pending == 0) state->done.notify_all();
    }).detach();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_ + 500);
  std::unique_lock<std::mutex> lock(state->mutex);
  state->done.wait_until(lock, deadline, [&] { return state->pending == 0; });

  FanoutAnswer answer;
  std::vector<json> merged;
  for (std::size_t s = 0; s < n; ++s) {
    if (!state->finished[s]) {
      ShardStatus late;
      late.url = targets_[s].url;
      late.error = "timed out after " + std::to_string(timeout_ms_) + " ms";
      late.milliseconds = timeout_ms_;
      answer.shards.push_back(late);
      continue;
    }
    answer.shards.push_back(state->status[s]);
    for (json h : state->hits[s]) {
      const std::int64_t id = h["window_id"].get<std::int64_t>() * static_cast<std::int64_t>(n) + static_cast<std::int64_t>(s);
      h["window_id"] = id;
      h["shard"] = targets_[s].url;
      h["thumbnail"] = "/media/thumbnails/" + std::to_string(id) + ".jpg";
      h["video"] = "/media/videos/" + std::to_string(id);
      merged.push_back(std::move(h));
    }
  }
  // Re-ranked hits (X-CLIP's logit) first, by score; the rest by their stage-1 cosine.
  std::stable_sort(merged.begin(), merged.end(), [](const json& a, const json& b) {
    const bool ra = a.value("reranked", false), rb = b.value("reranked", false);
    if (ra != rb) return ra;
    return a["score"].get<double>() > b["score"].get<double>();
  });
  for (std::size_t i = 0; i < merged.size() && static_cast<int>(i) < top; ++i) answer.hits.push_back(merged[i]);
  return answer;
}

void ShardFanout::media(const std::string& kind, std::int64_t window_id, const std::string& range,
                        httplib::Response& res) const {
  const auto n = static_cast<std::int64_t>(targets_.size());
  const ShardTarget& t = targets_[static_cast<std::size_t>(window_id % n)];
  const std::int64_t local = window_id / n;
  const std::string path = t.path_prefix + (kind == "thumbnail" ? "/media/thumbnails/" + std::to_string(local) + ".jpg"
                                                                : "/media/videos/" + std::to_string(local));
  httplib::Client client(t.origin);
  configure(client, timeout_ms_);
  httplib::Headers headers;
  if (!api_key_.empty()) headers.emplace("Authorization", "Bearer " + api_key_);
  if (kind == "video") headers.emplace("Range", bounded_range(range));
  std::string body;
  bool too_big = false;
  const auto answer = client.Get(path, headers, [&](const char* data, std::size_t length) {
    too_big = body.size() + length > kMaxMediaChunk;
    if (!too_big) body.append(data, length);
    return !too_big;
  });
  if (too_big) throw HttpError(502, "bad_gateway", t.url + " sent more than " + std::to_string(kMaxMediaChunk) + " bytes");
  if (!answer) throw HttpError(502, "bad_gateway", t.url + ": no answer: " + httplib::to_string(answer.error()));
  if (answer->status != 200 && answer->status != 206)
    throw HttpError(answer->status == 404 ? 404 : 502, answer->status == 404 ? "not_found" : "bad_gateway",
                    t.url + " answered HTTP " + std::to_string(answer->status));
  const std::string content_range = answer->get_header_value("Content-Range");
  if (kind == "video" && range.empty() && answer->status == 206) {
    // Asked without a range: the whole file fits in one chunk, or the client must ask by range.
    const auto slash = content_range.rfind('/');
    const std::string total = slash == std::string::npos ? "" : content_range.substr(slash + 1);
    if (total != std::to_string(body.size()))
      throw HttpError(416, "range_required",
                      "this video is larger than " + std::to_string(kMaxMediaChunk) +
                          " bytes: through a front server, ask for it by byte ranges (Range: bytes=...)");
    res.status = 200;
  } else {
    res.status = answer->status;
    if (!content_range.empty()) res.set_header("Content-Range", content_range);
  }
  if (kind == "video") res.set_header("Accept-Ranges", "bytes");
  res.set_header("Cache-Control", "max-age=3600");
  res.set_content(body, answer->get_header_value("Content-Type"));
}

}  // namespace xclip::server
