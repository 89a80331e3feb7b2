// VideoIndex: one index folder, or a collection of shards, kept in line with the files
// (update) and searched in two stages as one.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <optional>
#include <set>
#include <thread>

#include "core/check.h"
#include "core/parallel.h"
#include "index/collection_manifest.h"
#include "index/file_scan.h"
#include "index/index_shard.h"
#include "index/writer_lock.h"
#include "xclip/index.h"
#include "xclip/pipeline.h"

namespace xclip {

namespace fs = std::filesystem;
using index::CollectionManifest;
using index::FileVersion;
using index::IndexShard;
using index::StoredVideo;
using index::UpdatePlan;

std::vector<std::pair<double, double>> plan_windows(double duration, const IndexSettings& s) {
  XCLIP_CHECK(s.window_seconds > 0 && s.stride_seconds >= 0, InvalidArgument)
      << "window must be positive and stride non-negative, got " << s.window_seconds << " s and " << s.stride_seconds
      << " s";
  const double window = s.window_seconds, stride = s.stride_seconds > 0 ? s.stride_seconds : s.window_seconds;
  if (!(duration > window)) return {{0.0, std::max(0.0, duration)}};
  // Windows start every stride while at least half a window of video remains; the last one
  // reaches the end of the video (at most half a window longer than the others).
  std::vector<std::pair<double, double>> out;
  for (std::int64_t k = 0;; ++k) {
    const double start = static_cast<double>(k) * stride;
    if (k > 0 && start + window / 2 >= duration) break;
    out.emplace_back(start, std::min(start + window, duration));
  }
  out.back().second = duration;
  return out;
}

std::size_t collection_shard_of(const std::string& path, std::size_t shards) {
  return index::shard_of(index::absolute_path(path), shards);
}

namespace {

// A stage-1 candidate of any shard.
struct Candidate {
  float score = 0;
  std::size_t shard = 0;
  std::int64_t local_id = 0;
};

}  // namespace

struct VideoIndex::Impl {
  std::string dir;
  IndexOpenOptions options;
  std::optional<CollectionManifest> manifest;  // absent: a plain index
  std::shared_ptr<index::SharedModel> model = std::make_shared<index::SharedModel>();
  std::vector<std::unique_ptr<IndexShard>> shards;

  Impl(const std::string& folder, const IndexOpenOptions& o) : dir(folder), options(o) {
    XCLIP_CHECK(o.shards >= 0 && o.shards <= 4096, InvalidArgument) << "shards must be 0 to 4096, got " << o.shards;
    std::error_code ec;
    if (index::is_collection(dir)) {
      open_collection();
    } else if (o.shards > 0 && !fs::exists(fs::path(dir) / "index.sqlite", ec)) {
      XCLIP_CHECK(o.create, IoError) << dir << ": no collection here (collection.json missing)";
      create_collection();
    } else {
      XCLIP_CHECK(o.shards == 0, InvalidArgument)
          << dir << " is a plain index, not a collection of " << o.shards
          << " shards; build the collection in a new folder (or leave --shards out)";
      shards.push_back(std::make_unique<IndexShard>(dir, o, model));
    }
  }

  std::size_t count() const { return shards.size(); }
  bool collection() const { return manifest.has_value(); }

  // ---- a collection's shards ----

  std::string shard_dir(const std::string& name) const { return (fs::path(dir) / name).string(); }

  // Stage 1 turns approximate when the collection reaches approximate_from windows, not each
  // shard: a collection of N shards answers as fast as one index of its size would.
  IndexOpenOptions shard_open_options(std::size_t count) const {
    IndexOpenOptions o = options;
    const auto n = static_cast<std::int64_t>(std::max<std::size_t>(count, 1));
    o.approximate_from = std::max<std::int64_t>(1, (options.approximate_from + n - 1) / n);
    return o;
  }

  // Shards first, the manifest last: a creation killed half-way leaves no manifest, and the
  // next run completes the same shards (or refuses if their settings differ).
  void create_collection() {
    CollectionManifest m;
    const IndexOpenOptions shard_options = shard_open_options(static_cast<std::size_t>(options.shards));
    for (int s = 0; s < options.shards; ++s) {
      m.shards.push_back(index::shard_folder_name(static_cast<std::size_t>(s)));
      shards.push_back(std::make_unique<IndexShard>(shard_dir(m.shards.back()), shard_options, model));
    }
    const IndexInfo first = shards.front()->info();
    m.model = first.model;
    m.model_fingerprint = first.model_fingerprint;
    m.dtype = first.dtype;
    m.settings = first.settings;
    manifest = m;
    check_shards_agree();
    index::write_manifest(dir, m);
  }

  void open_collection() {
    manifest = index::read_manifest(dir);
    XCLIP_CHECK(options.shards == 0 || static_cast<std::size_t>(options.shards) == manifest->shards.size(),
                InvalidArgument)
        << dir << " is a collection of " << manifest->shards.size() << " shards, not " << options.shards
        << " (the shard count is fixed when it is created)";
    IndexOpenOptions shard_options = shard_open_options(manifest->shards.size());
    shard_options.create = false;
    for (const std::string& name : manifest->shards) {
      XCLIP_CHECK(fs::exists(fs::path(shard_dir(name)) / "index.sqlite"), FormatError)
          << index::manifest_path(dir) << " lists the shard " << name << ", which is missing from " << dir;
      shards.push_back(std::make_unique<IndexShard>(shard_dir(name), shard_options, model));
    }
    check_shards_agree();
  }

  void check_shards_agree() {
    for (const auto& shard : shards) {
      const std::string mismatch = index::manifest_mismatch(*manifest, shard->info());
      XCLIP_CHECK(mismatch.empty(), InvalidArgument)
          << shard->store.dir() << " does not agree with " << index::manifest_path(dir) << ": " << mismatch;
    }
  }

  // Window ids: unique across the shards without renumbering anything stored.
  std::int64_t global_id(std::size_t shard, std::int64_t local) const {
    return local * static_cast<std::int64_t>(count()) + static_cast<std::int64_t>(shard);
  }
  // The shard and its own id of a window id; nullopt for an id no shard can hold.
  std::optional<std::pair<std::size_t, std::int64_t>> split_id(std::int64_t id) const {
    if (id < 0) return std::nullopt;
    const auto n = static_cast<std::int64_t>(count());
    return std::make_pair(static_cast<std::size_t>(id % n), id / n);
  }
  std::pair<std::size_t, std::int64_t> known_id(std::int64_t id) const {
    const auto where = split_id(id);
    XCLIP_CHECK(where.has_value(), InvalidArgument) << dir << ": no window " << id << " in the index";
    return *where;
  }

  // Runs fn(shard) for these shards, at most one thread per core, the cores divided among
  // them (each shard's model calls run their own OpenMP team). Exceptions reach the caller.
  template <class Fn>
  void for_each_shard(const std::vector<std::size_t>& which, Fn fn) {
    const int threads = requested_num_threads(options.num_threads);
    const std::size_t workers = std::min<std::size_t>(which.size(), static_cast<std::size_t>(std::max(1, threads)));
    if (workers <= 1) {
      for (std::size_t s : which) fn(s);
      return;
    }
    std::vector<std::exception_ptr> errors(which.size());
    std::atomic<std::size_t> next{0};
    const auto work = [&] {
      set_num_threads(std::max(1, threads / static_cast<int>(workers)));
      for (std::size_t i; (i = next.fetch_add(1)) < which.size();) {
        try {
          fn(which[i]);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    };
    std::vector<std::thread> pool;
    for (std::size_t w = 0; w < workers; ++w) pool.emplace_back(work);
    for (std::thread& t : pool) t.join();
    for (const std::exception_ptr& e : errors)
      if (e) std::rethrow_exception(e);
  }

  std::vector<std::size_t> all_shards() const {
    std::vector<std::size_t> out(count());
    for (std::size_t s = 0; s < count(); ++s) out[s] = s;
    return out;
  }

  // ---- update ----

  IndexUpdateReport update(const std::vector<std::string>& paths, const IndexProgressCallback& on_progress,
                           const IndexUpdateOptions& uo) {
    const auto started = std::chrono::steady_clock::now();
    XCLIP_CHECK(uo.shard >= -1 && uo.shard < static_cast<int>(count()), InvalidArgument)
        << dir << " has " << count() << " shard(s); there is no shard " << uo.shard;
    const std::vector<std::size_t> targets =
        uo.shard < 0 ? all_shards() : std::vector<std::size_t>{static_cast<std::size_t>(uo.shard)};
    std::vector<index::WriterLock> locks;
    for (std::size_t t : targets) locks.emplace_back(shards[t]->store.dir());

    IndexUpdateReport report;
    const index::ScanResult scan = index::scan_videos(paths);
    report.failed = scan.problems;
    std::vector<std::vector<FileVersion>> files(count());
    for (const FileVersion& f : scan.files) files[index::shard_of(f.path, count())].push_back(f);
    // Every shard is planned (the others only read): a file moved into a target shard may
    // have vanished from any of them.
    std::vector<UpdatePlan> plans(count());
    std::vector<bool> target(count(), false), changed(count(), false);
    for (std::size_t t : targets) target[t] = true;
    for (std::size_t s = 0; s < count(); ++s) {
      IndexUpdateReport other;
      plans[s] = shards[s]->plan_update(files[s], scan.roots, target[s] ? report : other);
    }

    std::vector<std::vector<FileVersion>> to_embed(count());
    std::vector<std::vector<std::string>> to_embed_hashes(count());
    for (std::size_t t : targets) {
      UpdatePlan& plan = plans[t];
      for (const FileVersion& f : plan.todo) {
        std::string hash;
        try {
          hash = index::sampled_content_hash(f.path);
        } catch (const Error& e) {
          report.failed.emplace_back(f.path, e.what());
          continue;
        }
        if (!plan.indexed.count(f.path) && adopt(t, f, hash, plans, uo.remove_vanished)) {
          ++report.moved;
          changed[t] = true;
          continue;
        }
        to_embed[t].push_back(f);
        to_embed_hashes[t].push_back(hash);
      }
    }
    if (uo.remove_vanished)
      for (std::size_t t : targets) {
        const std::size_t before = report.removed;
        shards[t]->remove_vanished(plans[t], report);
        if (report.removed != before || !plans[t].adopted_away.empty()) changed[t] = true;
      }

    IndexProgress progress;
    for (std::size_t t : targets) progress.files_total += to_embed[t].size();
    const auto file_done = [&](const std::string& path, std::int64_t windows) {
      ++progress.files_done;
      progress.windows_done += windows;
      progress.current = path;
      progress.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (on_progress) on_progress(progress);
    };
    for (std::size_t t : targets) {
      const std::size_t before = report.added + report.updated;
      shards[t]->embed_files(to_embed[t], to_embed_hashes[t], plans[t].indexed, report, file_done);
      if (report.added + report.updated != before) changed[t] = true;
    }
    for (std::size_t t : targets)
      if (changed[t]) shards[t]->finish_update();
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  }

  // A new file whose content a shard holds under a path that is gone: renamed in its own
  // shard, copied (features, thumbnails and all) from another one; never decoded again.
  bool adopt(std::size_t target, const FileVersion& f, const std::string& hash, std::vector<UpdatePlan>& plans,
             bool remove_vanished) {
    const auto same = [&](const StoredVideo& v) { return v.content_hash == hash && v.size == f.size; };
    std::vector<StoredVideo>& own = plans[target].vanished;
    if (auto it = std::find_if(own.begin(), own.end(), same); it != own.end()) {
      shards[target]->store.move_video(it->id, f.path, f.mtime_ns);
      own.erase(it);
      return true;
    }
    for (std::size_t s = 0; s < count(); ++s) {
      if (s == target) continue;
      std::vector<StoredVideo>& theirs = plans[s].vanished;
      const auto it = std::find_if(theirs.begin(), theirs.end(), same);
      if (it == theirs.end()) continue;
      index::VideoRecord record = shards[s]->read_video(*it);
      record.path = f.path;
      record.mtime_ns = f.mtime_ns;
      shards[target]->store.put_video(record, shards[target]->shape);
      // Its old copy goes when that shard's vanished files are removed (in this update, if
      // that shard is one of its targets; else by that shard's own update), uncounted.
      if (remove_vanished) {
        plans[s].adopted_away.push_back(*it);
        theirs.erase(it);
      }
      return true;
    }
    return false;
  }

  std::size_t remove(const std::vector<std::string>& paths) {
    std::size_t removed = 0;
    for (const auto& shard : shards) {
      index::WriterLock lock(shard->store.dir());
      removed += shard->remove(paths);
    }
    return removed;
  }

  // ---- search ----

  void check_search(const SearchOptions& o) const {
    XCLIP_CHECK(o.top > 0, InvalidArgument) << "top must be positive, got " << o.top;
    XCLIP_CHECK(o.rerank >= 0, InvalidArgument) << "rerank must be 0 or more, got " << o.rerank;
    XCLIP_CHECK(o.nprobe > 0, InvalidArgument) << "nprobe must be positive, got " << o.nprobe;
  }

  std::vector<float> normalized_query(const Tensor& features, const char* what) const {
    shards.front()->check_query_features(features, what);
    std::vector<float> query(features.data<float>(), features.data<float>() + features.numel());
    l2_normalize(query.data(), query.size());
    return query;
  }

  // Stage 1 in every shard at once; the best k of them all, best first. The same k nearest
  // windows a single index of the same files finds (each shard's k include its share).
  std::vector<Candidate> nearest(const std::vector<float>& query, std::int64_t k, int nprobe) {
    std::vector<index::Neighbours> found(count());
    for_each_shard(all_shards(), [&](std::size_t s) { found[s] = shards[s]->nearest(query.data(), k, nprobe); });
    std::vector<Candidate> all;
    for (std::size_t s = 0; s < count(); ++s)
      for (std::size_t i = 0; i < found[s].ids.size(); ++i) all.push_back({found[s].scores[i], s, found[s].ids[i]});
    std::stable_sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
    if (static_cast<std::int64_t>(all.size()) > k) all.resize(static_cast<std::size_t>(k));
    return all;
  }

  // Stage 2 for the first `reranked` candidates, each shard scoring its own at once.
  std::vector<float> logits(const std::vector<Candidate>& candidates, std::size_t reranked, const Tensor& text) {
    std::vector<std::vector<std::size_t>> rows(count());
    for (std::size_t i = 0; i < reranked; ++i) rows[candidates[i].shard].push_back(i);
    std::vector<std::size_t> busy;
    for (std::size_t s = 0; s < count(); ++s)
      if (!rows[s].empty()) busy.push_back(s);
    std::vector<float> out(reranked);
    for_each_shard(busy, [&](std::size_t s) {
      std::vector<std::int64_t> ids;
      for (std::size_t i : rows[s]) ids.push_back(candidates[i].local_id);
      const std::vector<float> l = shards[s]->logits(ids, text);
      for (std::size_t j = 0; j < rows[s].size(); ++j) out[rows[s][j]] = l[j];
    });
    return out;
  }

  std::vector<SearchHit> hits_for(const std::vector<Candidate>& found, const std::vector<float>& logits,
                                  std::size_t reranked, int top) {
    std::vector<SearchHit> hits;
    for (std::size_t i = 0; i < found.size(); ++i) {
      SearchHit h;
      h.window_id = global_id(found[i].shard, found[i].local_id);
      h.stage1_score = found[i].score;
      h.reranked = i < reranked;
      h.score = h.reranked ? logits[i] : found[i].score;
      hits.push_back(h);
    }
    std::stable_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(reranked),
                     [](const SearchHit& a, const SearchHit& b) { return a.score > b.score; });
    return with_locations(std::move(hits), top);
  }

  // Paths and times of the best `top` hits; windows of videos deleted since indexing are
  // skipped (their files cannot be shown).
  std::vector<SearchHit> with_locations(std::vector<SearchHit> hits, int top) {
    std::vector<SearchHit> out;
    for (SearchHit& h : hits) {
      if (static_cast<int>(out.size()) >= top) break;
      const auto [shard, local] = known_id(h.window_id);
      SearchHit located = h;
      located.window_id = local;
      if (!shards[shard]->locate(located)) continue;
      located.window_id = h.window_id;
      out.push_back(std::move(located));
    }
    return out;
  }

  std::vector<SearchHit> search_text_features(const Tensor& features, const SearchOptions& o) {
    check_search(o);
    const std::vector<float> query = normalized_query(features, "query features");
    const std::vector<Candidate> found = nearest(query, std::max(o.top, o.rerank), o.nprobe);
    const std::size_t reranked = std::min<std::size_t>(found.size(), static_cast<std::size_t>(o.rerank));
    const Tensor text = features.rank() == 2 ? features : features.reshaped({1, features.numel()});
    return hits_for(found, logits(found, reranked, text), reranked, o.top);
  }

  std::vector<SearchHit> search_video_features(const Tensor& features, const SearchOptions& o) {
    check_search(o);
    const std::vector<float> query =
        normalized_query(features, "video features (get_video_features of one video)");
    return hits_for(nearest(query, o.top, o.nprobe), {}, 0, o.top);
  }

  std::vector<SearchHit> rank_all(const Tensor& features) {
    std::vector<SearchHit> hits;
    for (std::size_t s = 0; s < count(); ++s)
      for (SearchHit h : shards[s]->rank_all(features)) {
        h.window_id = global_id(s, h.window_id);
        hits.push_back(h);
      }
    std::stable_sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& b) { return a.score > b.score; });
    return with_locations(std::move(hits), static_cast<int>(hits.size()));
  }

  // ---- windows ----

  std::vector<IndexedWindow> windows() {
    std::vector<IndexedWindow> out;
    for (std::size_t s = 0; s < count(); ++s)
      for (IndexedWindow w : shards[s]->store.windows(shards[s]->shape)) {
        w.id = global_id(s, w.id);
        out.push_back(std::move(w));
      }
    if (count() > 1)
      std::stable_sort(out.begin(), out.end(), [](const IndexedWindow& a, const IndexedWindow& b) {
        return a.path != b.path ? a.path < b.path : a.start < b.start;
      });
    return out;
  }

  std::optional<IndexedWindow> window(std::int64_t id) {
    const auto where = split_id(id);
    if (!where) return std::nullopt;
    const auto meta = shards[where->first]->store.window_meta(where->second);
    if (!meta) return std::nullopt;
    return IndexedWindow{id, meta->path, meta->start, meta->end, meta->frame_indices, {}};
  }

  IndexInfo info() {
    if (!collection()) return shards.front()->info();
    IndexInfo i = shards.front()->info();
    i.dir = dir;
    i.videos = i.windows = 0;
    std::set<std::string> kinds;
    for (const auto& shard : shards) {
      const IndexInfo s = shard->info();
      i.videos += s.videos;
      i.windows += s.windows;
      kinds.insert(s.stage1);
      i.shard_dirs.push_back(s.dir);
    }
    i.stage1.clear();
    for (const std::string& k : kinds) i.stage1 += (i.stage1.empty() ? "" : ",") + k;
    i.shards = static_cast<int>(count());
    return i;
  }
};

VideoIndex VideoIndex::open(const std::string& dir, const IndexOpenOptions& options) {
  return VideoIndex(std::make_unique<Impl>(dir, options));
}
VideoIndex::VideoIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoIndex::~VideoIndex() = default;
VideoIndex::VideoIndex(VideoIndex&&) noexcept = default;
VideoIndex& VideoIndex::operator=(VideoIndex&&) noexcept = default;

IndexUpdateReport VideoIndex::update(const std::vector<std::string>& paths, const IndexProgressCallback& on_progress,
                                     const IndexUpdateOptions& options) {
  return impl_->update(paths, on_progress, options);
}
std::size_t VideoIndex::remove(const std::vector<std::string>& paths) { return impl_->remove(paths); }
Tensor VideoIndex::text_features(const std::string& text) { return impl_->shards.front()->text_features(text); }
std::vector<SearchHit> VideoIndex::search(const std::string& text, const SearchOptions& options) {
  impl_->check_search(options);
  return impl_->search_text_features(text_features(text), options);
}
std::vector<SearchHit> VideoIndex::search_like(const std::string& video_path, const SearchOptions& options) {
  impl_->check_search(options);
  return impl_->search_video_features(impl_->shards.front()->video_features_of(video_path), options);
}
std::vector<SearchHit> VideoIndex::search_video_features(const Tensor& video_features, const SearchOptions& options) {
  return impl_->search_video_features(video_features, options);
}
std::vector<SearchHit> VideoIndex::search_text_features(const Tensor& text_features, const SearchOptions& options) {
  return impl_->search_text_features(text_features, options);
}
std::vector<SearchHit> VideoIndex::rank_all(const Tensor& text_features) { return impl_->rank_all(text_features); }
std::vector<std::uint8_t> VideoIndex::thumbnail(std::int64_t window_id) const {
  const auto [shard, local] = impl_->known_id(window_id);
  return impl_->shards[shard]->store.thumbnail(local);
}
std::string VideoIndex::thumbnail_path(std::int64_t window_id) const {
  const auto [shard, local] = impl_->known_id(window_id);
  return impl_->shards[shard]->thumbnail_path(local);
}
IndexInfo VideoIndex::info() const { return impl_->info(); }
std::vector<IndexedWindow> VideoIndex::windows() const { return impl_->windows(); }
std::optional<IndexedWindow> VideoIndex::window(std::int64_t id) const { return impl_->window(id); }
const std::string& VideoIndex::dir() const { return impl_->dir; }

}  // namespace xclip
