// VideoIndex: keeping an index in line with a collection (update), and two-stage search.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/check.h"
#include "index/file_scan.h"
#include "index/index_store.h"
#include "index/vector_index.h"
#include "pipeline/prepare.h"
#include "pipeline/prefetch.h"
#include "text/unicode.h"
#include "video/jpeg.h"
#include "xclip/hub.h"
#include "xclip/index.h"
#include "xclip/model.h"
#include "xclip/pipeline.h"
#include "xclip/processor.h"

namespace xclip {

namespace fs = std::filesystem;
using index::FeatureShape;
using index::IndexStore;
using index::VectorIndex;
using index::VideoRecord;
using index::WindowRecord;

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

namespace {

const char* dtype_name(WeightType t) { return weight_type_name(t == WeightType::Auto ? WeightType::F32 : t); }

// Indexes written before the one vocabulary recorded "bf16": every spelling reads.
WeightType dtype_from_name(const std::string& name, const std::string& db) {
  try {
    const WeightType t = parse_weight_type(name);
    if (t != WeightType::Auto) return t;
  } catch (const InvalidArgument&) {
  }
  XCLIP_FAIL(FormatError) << db << ": unknown dtype '" << name << "' recorded in the index";
  __builtin_unreachable();
}

// The hub snapshot a model folder comes from (…/snapshots/<revision>), or "local".
std::string revision_of(const std::string& folder) {
  const fs::path p(folder);
  if (p.parent_path().filename() == "snapshots") return p.filename().string();
  return "local";
}

// Decoded, preprocessed windows of one file, handed from the decoding thread to inference.
struct WindowChunk {
  std::size_t file = 0;  // position in the list of files to embed
  bool first = false, last = false;
  std::string error;  // the file cannot be indexed (no further chunks of it follow)
  double duration = 0;
  std::int64_t frame_count = 0;
  std::vector<WindowRecord> windows;  // times, frame indices, thumbnails
  Tensor pixels;                      // F32 [windows, T, 3, H, W]
};

}  // namespace

struct VideoIndex::Impl {
  IndexStore store;
  IndexOpenOptions options;
  std::string model_path;  // the resolved model folder
  FeatureShape shape;
  IndexSettings settings;
  WeightType dtype = WeightType::F32;

  std::shared_ptr<const Model> model;
  std::unique_ptr<XCLIPProcessor> processor;
  std::unique_ptr<Session> session;

  std::shared_ptr<std::vector<float>> feature_buffer;  // reused by every stage 2

  std::unique_ptr<VectorIndex> vectors;
  std::int64_t vectors_generation = -1;

  Impl(const std::string& dir, const IndexOpenOptions& o) : store(dir, o.create), options(o) {
    if (!store.initialised()) {
      XCLIP_CHECK(o.create, IoError) << dir << ": not an initialised index";
      create();
    }
    read_meta();
  }

  std::string db_path() { return store.db().path(); }

  void create() {
    XCLIP_CHECK(!options.model.empty(), InvalidArgument)
        << store.dir() << ": a new index needs a model (--model DIR|ID)";
    const std::string folder = resolve_model(options.model, options.hub);
    const XCLIPConfig config = XCLIPConfig::from_file((fs::path(folder) / "config.json").string());
    IndexSettings s = options.settings;
    plan_windows(1.0, s);  // validates window and stride
    if (s.num_frames <= 0) s.num_frames = config.vision_config.num_frames;
    XCLIP_CHECK(s.num_frames == config.vision_config.num_frames, InvalidArgument)
        << "this model takes " << config.vision_config.num_frames << " frames per window, not " << s.num_frames;
    XCLIP_CHECK(s.thumbnail_size > 0, InvalidArgument) << "thumbnail size must be positive";
    const std::int64_t side = config.vision_config.image_size / config.vision_config.patch_size;
    index::Transaction t(store.db());
    store.set_meta("format_version", std::to_string(index::kFormatVersion));
    store.set_meta("model", options.model);
    store.set_meta("model_path", fs::absolute(folder).string());
    store.set_meta("model_fingerprint", index::folder_fingerprint(folder));
    store.set_meta("revision", revision_of(folder));
    store.set_meta("dtype", dtype_name(created_dtype(folder)));
    store.set_meta("projection_dim", std::to_string(config.projection_dim));
    store.set_meta("prompt_layers", std::to_string(config.prompt_layers));
    store.set_meta("patches", std::to_string(side * side));
    store.set_meta("window_seconds", std::to_string(s.window_seconds));
    store.set_meta("stride_seconds", std::to_string(s.stride_seconds));
    store.set_meta("num_frames", std::to_string(s.num_frames));
    store.set_meta("thumbnail_size", std::to_string(s.thumbnail_size));
    store.set_meta("sampling", "uniform");
    store.set_meta("seek", seek_mode_name(s.seek));
    store.set_meta("generation", "0");
    t.commit();
  }

  // The precision the index is built in: the one asked for, or what Auto means for this
  // folder everywhere else (int8 for a converted folder whose self-check passed, else
  // float32), found by loading the model the update is about to use anyway.
  WeightType created_dtype(const std::string& folder) {
    if (options.loaded_model) return options.loaded_model->weights();
    if (options.dtype != WeightType::Auto) return options.dtype;
    LoadOptions load;
    load.num_threads = options.num_threads;
    load.hub = options.hub;
    model = Model::load(folder, load);
    return model->weights();
  }

  void read_meta() {
    const int version = std::stoi(store.required_meta("format_version"));
    XCLIP_CHECK(version <= index::kFormatVersion, FormatError)
        << db_path() << ": written by a newer xclip (index format " << version << "; this one reads up to "
        << index::kFormatVersion << ")";
    shape.dim = std::stoll(store.required_meta("projection_dim"));
    shape.layers = std::stoll(store.required_meta("prompt_layers"));
    shape.patches = std::stoll(store.required_meta("patches"));
    XCLIP_CHECK(shape.dim > 0 && shape.layers > 0 && shape.patches > 0, FormatError)
        << db_path() << ": impossible feature shape recorded";
    settings.window_seconds = std::stod(store.required_meta("window_seconds"));
    settings.stride_seconds = std::stod(store.required_meta("stride_seconds"));
    settings.num_frames = std::stoi(store.required_meta("num_frames"));
    settings.thumbnail_size = std::stoi(store.required_meta("thumbnail_size"));
    // Absent in an index from before seek modes: exact.
    const std::string seek = store.meta("seek").value_or(seek_mode_name(SeekMode::Exact));
    try {
      settings.seek = parse_seek_mode(seek);
    } catch (const InvalidArgument&) {
      XCLIP_FAIL(FormatError) << db_path() << ": unknown seek mode '" << seek << "' recorded in the index";
    }
    dtype = dtype_from_name(store.required_meta("dtype"), db_path());
    model_path = store.required_meta("model_path");
    if (!options.model.empty()) {
      // A model given for an existing index must be the one it was built with.
      const std::string folder = resolve_model(options.model, options.hub);
      const std::string fingerprint = index::folder_fingerprint(folder);
      XCLIP_CHECK(fingerprint == store.required_meta("model_fingerprint"), InvalidArgument)
          << store.dir() << " was built with the model " << store.required_meta("model") << " (fingerprint "
          << store.required_meta("model_fingerprint") << "), not " << options.model << " (fingerprint " << fingerprint
          << "): its vectors only make sense with that model";
      model_path = fs::absolute(folder).string();
    }
    XCLIP_CHECK(!options.loaded_model || options.loaded_model->weights() == dtype, InvalidArgument)
        << store.dir() << " was built in " << dtype_name(dtype) << "; the model given runs in "
        << dtype_name(options.loaded_model->weights()) << " (load it with --dtype matching the index)";
  }

  void ensure_model() {
    if (session) return;
    XCLIP_CHECK(fs::exists(fs::path(model_path) / "config.json"), IoError)
        << store.dir() << ": the index's model " << store.required_meta("model") << " is no longer at " << model_path
        << "; pass the same model explicitly (--model)";
    XCLIP_CHECK(index::folder_fingerprint(model_path) == store.required_meta("model_fingerprint"), InvalidArgument)
        << store.dir() << ": the model folder " << model_path << " changed since the index was built (fingerprint "
        << index::folder_fingerprint(model_path) << ", recorded " << store.required_meta("model_fingerprint") << ")";
    if (options.loaded_model) {
      model = options.loaded_model;
    } else if (model && model->weights() == dtype && fs::absolute(model->path()).string() == model_path) {
      // loaded by created_dtype
    } else {
      LoadOptions load;
      load.num_threads = options.num_threads;
      load.weights = dtype;
      model = Model::load(model_path, load);
    }
    processor = std::make_unique<XCLIPProcessor>(XCLIPProcessor::from_folder(model_path));
    session = std::make_unique<Session>(model);
  }

  Tensor text_features(const std::string& text) {
    const std::size_t bad = text::invalid_utf8_offset(text);
    XCLIP_CHECK(bad == std::string::npos, InvalidArgument)
        << "the query is not valid UTF-8 (byte " << bad << " of " << text.size() << ")";
    XCLIP_CHECK(!text.empty(), InvalidArgument) << "the query is empty";
    ensure_model();
    TokenizeOptions tok;
    tok.padding = Padding::Longest;
    tok.truncation = true;
    const auto [ids, mask] = processor->tokenizer().encode_to_tensors({text}, tok);
    return session->get_text_features(ids, mask);
  }

  // Stored features of `ids` as the model takes them, in a buffer kept between queries.
  VideoSearchFeatures search_features(const std::vector<std::int64_t>& ids) {
    const std::int64_t n = static_cast<std::int64_t>(ids.size());
    const std::size_t needed = static_cast<std::size_t>(n * (shape.dim + shape.keys_values_floats()));
    if (!feature_buffer || feature_buffer->size() < needed) feature_buffer = std::make_shared<std::vector<float>>(needed);
    float* embeddings = feature_buffer->data();
    float* keys_values = embeddings + n * shape.dim;
    store.read_search_features(ids, shape, embeddings, keys_values);
    VideoSearchFeatures f;
    f.video_embeds = Tensor::borrow(DType::F32, {n, shape.dim}, embeddings, feature_buffer);
    f.prompt_keys_values =
        Tensor::borrow(DType::F32, {shape.layers, n, shape.patches, 2 * shape.dim}, keys_values, feature_buffer);
    return f;
  }

  // ---- stage 1 ----

  std::string vectors_path() const { return (fs::path(store.dir()) / "vectors.faiss").string(); }

  bool load_saved_vectors(std::int64_t generation) {
    const std::string path = vectors_path();
    if (store.meta("vectors_generation") != std::to_string(generation) || !fs::exists(path)) return false;
    std::error_code ec;
    const auto bytes = fs::file_size(path, ec);
    // A damaged file (truncated, overwritten) is rebuilt from the database, never trusted.
    if (ec || store.meta("vectors_bytes") != std::to_string(bytes) || store.meta("vectors_hash") != index::whole_file_hash(path))
      return false;
    vectors = std::make_unique<VectorIndex>(VectorIndex::load(path, static_cast<int>(shape.dim)));
    return true;
  }

  void ensure_vectors() {
    const std::int64_t generation = store.generation();
    if (vectors && vectors_generation == generation) return;
    if (!load_saved_vectors(generation)) {
      std::vector<std::int64_t> ids;
      std::vector<float> embeddings;
      store.all_embeddings(shape, ids, embeddings);
      const std::int64_t n = static_cast<std::int64_t>(ids.size());
      for (std::int64_t i = 0; i < n; ++i) l2_normalize(embeddings.data() + i * shape.dim, static_cast<std::size_t>(shape.dim));
      vectors = std::make_unique<VectorIndex>(
          VectorIndex::build(embeddings.data(), ids.data(), n, static_cast<int>(shape.dim), options.approximate_from));
      save_vectors(generation);
    }
    vectors_generation = generation;
  }

  // The vector file is a cache of the database: a read-only index folder still searches.
  void save_vectors(std::int64_t generation) {
    try {
      vectors->save(vectors_path());
      index::Transaction t(store.db());
      store.set_meta("vectors_generation", std::to_string(generation));
      store.set_meta("vectors_bytes", std::to_string(fs::file_size(vectors_path())));
      store.set_meta("vectors_hash", index::whole_file_hash(vectors_path()));
      store.set_meta("vectors_kind", vectors->kind());
      t.commit();
    } catch (const IoError&) {
    }
  }

  // ---- update ----

  void produce_windows(const std::vector<index::FileVersion>& files, const pipeline::Prefetcher<WindowChunk>::Emit& emit) {
    VideoOpenOptions open;
    open.limits = options.decode_limits;
    open.threads = options.decode_threads;
    open.seek = settings.seek;
    const int batch = 4;  // windows per forward: the same for every run, so results repeat bit for bit
    for (std::size_t f = 0; f < files.size(); ++f) {
      try {
        VideoReader reader = VideoReader::open(files[f].path, open);
        const VideoInfo& info = reader.info();
        double duration = info.duration_seconds;
        if (!(duration > 0) && info.average_fps > 0) duration = static_cast<double>(info.frame_count) / info.average_fps;
        const auto spans = plan_windows(duration, settings);
        for (std::size_t first = 0; first < spans.size(); first += batch) {
          WindowChunk chunk = decode_chunk(reader, spans, first, std::min(spans.size(), first + batch), duration > 0);
          chunk.file = f;
          chunk.first = first == 0;
          chunk.last = first + batch >= spans.size();
          chunk.duration = duration;
          chunk.frame_count = info.frame_count;
          if (!emit(std::move(chunk))) return;
        }
      } catch (const std::exception& e) {
        WindowChunk failed;
        failed.file = f;
        failed.last = true;
        failed.error = e.what();
        if (!emit(std::move(failed))) return;
      }
    }
  }

  WindowChunk decode_chunk(VideoReader& reader, const std::vector<std::pair<double, double>>& spans, std::size_t begin,
                           std::size_t end, bool timed) {
    WindowChunk chunk;
    std::vector<std::int64_t> all;
    for (std::size_t w = begin; w < end; ++w) {
      SamplingOptions s;
      s.num_frames = settings.num_frames;
      if (timed) {
        s.start = spans[w].first;
        s.end = spans[w].second;
      }
      WindowRecord record;
      record.start = spans[w].first;
      record.end = spans[w].second;
      record.frame_indices = sample_clips(reader, s).indices.front();
      all.insert(all.end(), record.frame_indices.begin(), record.frame_indices.end());
      chunk.windows.push_back(std::move(record));
    }
    // Each frame is preprocessed as it is decoded, so a chunk holds the model's input, not its
    // frames at the source's resolution; a window's middle frame also becomes its thumbnail.
    const std::int64_t t = settings.num_frames;
    const auto thumbnail = [&](const std::vector<std::size_t>& rows, const std::uint8_t* rgb, int h, int w, double) {
      for (std::size_t row : rows)
        if (static_cast<std::int64_t>(row) % t == t / 2)
          chunk.windows[row / static_cast<std::size_t>(t)].thumbnail =
              video::encode_jpeg_thumbnail(rgb, w, h, settings.thumbnail_size);
    };
    std::vector<std::int64_t> used;  // in keyframe mode the windows keep the frames actually used
    const Tensor frames = pipeline::preprocess_frames(reader, all, processor->video_processor(), used, thumbnail);
    chunk.pixels = frames.reshaped(
        {static_cast<std::int64_t>(chunk.windows.size()), t, frames.dim(1), frames.dim(2), frames.dim(3)});
    for (std::size_t i = 0; i < chunk.windows.size(); ++i)
      std::copy(used.begin() + static_cast<std::ptrdiff_t>(i) * t, used.begin() + static_cast<std::ptrdiff_t>(i + 1) * t,
                chunk.windows[i].frame_indices.begin());
    return chunk;
  }

  // Embeds a chunk's windows into `record`.
  void embed_chunk(const WindowChunk& chunk, VideoRecord& record) {
    const VideoSearchFeatures f = session->get_video_search_features(chunk.pixels);
    const std::int64_t n = static_cast<std::int64_t>(chunk.windows.size());
    XCLIP_CHECK(f.prompt_keys_values.dim(2) == shape.patches, FormatError)
        << "the model gives " << f.prompt_keys_values.dim(2) << " patches per window, the index expects "
        << shape.patches;
    const std::int64_t per_layer = shape.patches * 2 * shape.dim;
    for (std::int64_t i = 0; i < n; ++i) {
      WindowRecord w = chunk.windows[static_cast<std::size_t>(i)];
      const float* e = f.video_embeds.data<float>() + i * shape.dim;
      w.embedding.assign(e, e + shape.dim);
      w.keys_values.resize(static_cast<std::size_t>(shape.keys_values_floats()));
      for (std::int64_t l = 0; l < shape.layers; ++l)
        std::memcpy(w.keys_values.data() + l * per_layer,
                    f.prompt_keys_values.data<float>() + (l * n + i) * per_layer, sizeof(float) * per_layer);
      record.windows.push_back(std::move(w));
    }
  }

  IndexUpdateReport update(const std::vector<std::string>& paths, const IndexProgressCallback& on_progress) {
    const auto started = std::chrono::steady_clock::now();
    IndexUpdateReport report;
    const index::ScanResult scan = index::scan_videos(paths);
    report.failed = scan.problems;
    std::map<std::string, index::StoredVideo> indexed = store.videos();
    const auto failures = store.failures();

    std::set<std::string> seen;
    std::vector<index::FileVersion> todo;
    for (const index::FileVersion& f : scan.files) {
      seen.insert(f.path);
      auto it = indexed.find(f.path);
      if (it != indexed.end() && it->second.size == f.size && it->second.mtime_ns == f.mtime_ns) {
        ++report.unchanged;
        continue;
      }
      auto failed = failures.find(f.path);
      if (it == indexed.end() && failed != failures.end() && failed->second.first.size == f.size &&
          failed->second.first.mtime_ns == f.mtime_ns) {
        report.failed.emplace_back(f.path, failed->second.second);  // known unreadable, unchanged
        continue;
      }
      todo.push_back(f);
    }

    // Indexed files under these roots that are gone: moved (same content at a new path) or removed.
    std::vector<index::StoredVideo> vanished;
    const auto under_roots = [&](const std::string& path) {
      return std::any_of(scan.roots.begin(), scan.roots.end(),
                         [&](const std::string& r) { return index::path_under(path, r); });
    };
    for (const auto& [path, v] : indexed)
      if (under_roots(path) && !seen.count(path) && !fs::exists(path)) vanished.push_back(v);
    std::vector<std::string> hashes(todo.size());
    std::vector<index::FileVersion> to_embed;
    std::vector<std::string> to_embed_hashes;
    for (std::size_t i = 0; i < todo.size(); ++i) {
      try {
        hashes[i] = index::sampled_content_hash(todo[i].path);
      } catch (const Error& e) {
        report.failed.emplace_back(todo[i].path, e.what());
        continue;
      }
      auto moved = std::find_if(vanished.begin(), vanished.end(), [&](const index::StoredVideo& v) {
        return v.content_hash == hashes[i] && v.size == todo[i].size;
      });
      if (moved != vanished.end() && !indexed.count(todo[i].path)) {
        store.move_video(moved->id, todo[i].path, todo[i].mtime_ns);
        vanished.erase(moved);
        ++report.moved;
        continue;
      }
      to_embed.push_back(todo[i]);
      to_embed_hashes.push_back(hashes[i]);
    }
    std::vector<std::int64_t> removed_ids;
    std::vector<std::string> removed_paths;
    for (const index::StoredVideo& v : vanished) {
      removed_ids.push_back(v.id);
      removed_paths.push_back(v.path);
    }
    report.removed = store.remove_videos(removed_ids);
    std::vector<std::string> gone_failures;
    for (const auto& [path, f] : failures)
      if (under_roots(path) && !seen.count(path)) gone_failures.push_back(path);
    store.forget_failures(gone_failures);

    if (!to_embed.empty()) embed_files(to_embed, to_embed_hashes, indexed, report, on_progress, started);
    if (report.added + report.updated + report.moved + report.removed > 0) {
      store.checkpoint();
      ensure_vectors();
      sweep_thumbnails();
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
  }

  void embed_files(const std::vector<index::FileVersion>& files, const std::vector<std::string>& hashes,
                   const std::map<std::string, index::StoredVideo>& indexed, IndexUpdateReport& report,
                   const IndexProgressCallback& on_progress, std::chrono::steady_clock::time_point started) {
    ensure_model();
    IndexProgress progress;
    progress.files_total = files.size();
    pipeline::Prefetcher<WindowChunk> prefetcher(
        2, [&](const pipeline::Prefetcher<WindowChunk>::Emit& emit) { produce_windows(files, emit); });
    VideoRecord record;
    std::string error;
    while (auto chunk = prefetcher.next()) {
      const index::FileVersion& file = files[chunk->file];
      if (chunk->first || !chunk->error.empty()) {
        record = VideoRecord{file.path, file.size, file.mtime_ns, hashes[chunk->file], chunk->duration,
                             chunk->frame_count, {}};
        error.clear();
      }
      error = chunk->error;
      if (error.empty()) {
        try {
          embed_chunk(*chunk, record);
        } catch (const Error& e) {
          error = e.what();
        }
      }
      if (!chunk->last && error.empty()) continue;
      if (!chunk->last) {  // a failure inside a file: skip the rest of its chunks
        const std::size_t failed_file = chunk->file;
        while (!chunk->last) {
          chunk = prefetcher.next();
          if (!chunk || chunk->file != failed_file) break;
        }
      }
      ++report.decoded;
      if (error.empty()) {
        store.put_video(record, shape);
        ++(indexed.count(file.path) ? report.updated : report.added);
        report.windows_added += static_cast<std::int64_t>(record.windows.size());
        progress.windows_done += static_cast<std::int64_t>(record.windows.size());
      } else {
        store.put_failure(index::StoredVideo{0, file.path, file.size, file.mtime_ns, ""}, error);
        report.failed.emplace_back(file.path, error);
      }
      ++progress.files_done;
      progress.current = file.path;
      progress.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (on_progress) on_progress(progress);
    }
  }

  // ---- search ----

  std::vector<SearchHit> hits_for(const index::Neighbours& found, const std::vector<float>& logits, std::size_t reranked,
                                  int top) {
    std::vector<SearchHit> hits;
    for (std::size_t i = 0; i < found.ids.size(); ++i) {
      SearchHit h;
      h.window_id = found.ids[i];
      h.stage1_score = found.scores[i];
      h.reranked = i < reranked;
      h.score = h.reranked ? logits[i] : found.scores[i];
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
      const auto meta = store.window_meta(h.window_id);
      if (!meta || !fs::exists(meta->path)) continue;
      h.path = meta->path;
      h.start = meta->start;
      h.end = meta->end;
      out.push_back(std::move(h));
    }
    return out;
  }

  void check_search(const SearchOptions& o) const {
    XCLIP_CHECK(o.top > 0, InvalidArgument) << "top must be positive, got " << o.top;
    XCLIP_CHECK(o.rerank >= 0, InvalidArgument) << "rerank must be 0 or more, got " << o.rerank;
    XCLIP_CHECK(o.nprobe > 0, InvalidArgument) << "nprobe must be positive, got " << o.nprobe;
  }

  std::vector<SearchHit> search_text_features(const Tensor& features, const SearchOptions& o) {
    check_search(o);
    XCLIP_CHECK(features.defined() && features.dtype() == DType::F32 && features.rank() == 2 && features.dim(0) == 1 &&
                    features.dim(1) == shape.dim,
                InvalidArgument)
        << "query features: expected F32 [1, " << shape.dim << "], got " << features.describe();
    ensure_vectors();
    std::vector<float> query(features.data<float>(), features.data<float>() + shape.dim);
    l2_normalize(query.data(), query.size());
    const index::Neighbours found = vectors->search(query.data(), std::max(o.top, o.rerank), o.nprobe);
    const std::size_t reranked = std::min<std::size_t>(found.ids.size(), static_cast<std::size_t>(o.rerank));
    std::vector<float> logits;
    if (reranked > 0) {
      ensure_model();
      const std::vector<std::int64_t> ids(found.ids.begin(), found.ids.begin() + static_cast<std::ptrdiff_t>(reranked));
      const Tensor l = session->logits_from_video_features(search_features(ids), features);
      logits.assign(l.data<float>(), l.data<float>() + l.numel());
    }
    return hits_for(found, logits, reranked, o.top);
  }

  std::vector<SearchHit> search_like(const std::string& path, const SearchOptions& o) {
    check_search(o);
    ensure_model();
    VideoReader reader = VideoReader::open(path);
    SamplingOptions s;
    s.num_frames = settings.num_frames;
    const DecodedFrames frames = reader.frames_at(sample_clips(reader, s).indices.front());
    const Tensor features = session->get_video_features(processor->video_processor().preprocess({frames.frames}));
    return search_video_features(features, o);
  }

  std::vector<SearchHit> search_video_features(const Tensor& features, const SearchOptions& o) {
    check_search(o);
    XCLIP_CHECK(features.defined() && features.dtype() == DType::F32 && features.numel() == shape.dim, InvalidArgument)
        << "video features: expected F32 [1, " << shape.dim << "] (get_video_features of one video), got "
        << (features.defined() ? features.describe() : std::string("nothing"));
    std::vector<float> query(features.data<float>(), features.data<float>() + shape.dim);
    l2_normalize(query.data(), query.size());
    ensure_vectors();
    const index::Neighbours found = vectors->search(query.data(), o.top, o.nprobe);
    return hits_for(found, {}, 0, o.top);
  }

  std::vector<SearchHit> rank_all(const Tensor& features) {
    ensure_model();
    std::vector<std::int64_t> ids;
    std::vector<float> embeddings;
    store.all_embeddings(shape, ids, embeddings);
    std::vector<SearchHit> hits;
    const std::size_t batch = 64;
    for (std::size_t first = 0; first < ids.size(); first += batch) {
      const std::vector<std::int64_t> part(ids.begin() + static_cast<std::ptrdiff_t>(first),
                                           ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), first + batch)));
      const Tensor l = session->logits_from_video_features(search_features(part), features);
      for (std::size_t i = 0; i < part.size(); ++i) {
        SearchHit h;
        h.window_id = part[i];
        h.score = l.data<float>()[i];
        h.reranked = true;
        hits.push_back(h);
      }
    }
    std::stable_sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& b) { return a.score > b.score; });
    return with_locations(std::move(hits), static_cast<int>(hits.size()));
  }

  std::size_t remove(const std::vector<std::string>& paths) {
    std::vector<std::string> roots;
    for (const std::string& p : paths) roots.push_back(index::absolute_path(p));
    std::vector<std::int64_t> ids;
    std::vector<std::string> failed;
    const auto under_roots = [&](const std::string& path) {
      return std::any_of(roots.begin(), roots.end(), [&](const std::string& r) { return index::path_under(path, r); });
    };
    for (const auto& [path, v] : store.videos())
      if (under_roots(path)) ids.push_back(v.id);
    for (const auto& [path, f] : store.failures())
      if (under_roots(path)) failed.push_back(path);
    store.forget_failures(failed);
    return store.remove_videos(ids);
  }

  // Cached thumbnails of windows that are gone (ids are never reused, so the rest stay right).
  void sweep_thumbnails() {
    const fs::path dir = fs::path(store.dir()) / "thumbnails";
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return;
    const std::set<std::int64_t> live = store.window_ids();
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string stem = entry.path().stem().string();
      char* end = nullptr;
      const long long id = std::strtoll(stem.c_str(), &end, 10);
      if (entry.path().extension() == ".jpg" && end && *end == '\0' && !live.count(id)) fs::remove(entry.path(), ec);
    }
  }

  std::string thumbnail_path(std::int64_t id) {
    const fs::path dir = fs::path(store.dir()) / "thumbnails";
    const fs::path file = dir / (std::to_string(id) + ".jpg");
    if (fs::exists(file)) return file.string();
    const std::vector<std::uint8_t> jpeg = store.thumbnail(id);
    std::error_code ec;
    fs::create_directories(dir, ec);
    const fs::path tmp = dir / (std::to_string(id) + ".jpg.tmp");
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
      XCLIP_CHECK(out.good(), IoError) << tmp.string() << ": cannot write the thumbnail";
    }
    fs::rename(tmp, file, ec);
    XCLIP_CHECK(!ec, IoError) << file.string() << ": cannot write the thumbnail: " << ec.message();
    return file.string();
  }

  IndexInfo info() {
    IndexInfo i;
    i.dir = store.dir();
    i.model = store.required_meta("model");
    i.model_fingerprint = store.required_meta("model_fingerprint");
    i.revision = store.required_meta("revision");
    i.dtype = store.required_meta("dtype");
    i.format_version = std::stoi(store.required_meta("format_version"));
    i.settings = settings;
    i.videos = store.video_count();
    i.windows = store.window_count();
    i.stage1 = i.windows >= options.approximate_from && i.windows >= 128
                   ? "ivf" + std::to_string(index::ivf_lists_for(i.windows))
                   : "flat";
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

IndexUpdateReport VideoIndex::update(const std::vector<std::string>& paths, const IndexProgressCallback& on_progress) {
  return impl_->update(paths, on_progress);
}
std::size_t VideoIndex::remove(const std::vector<std::string>& paths) { return impl_->remove(paths); }
std::vector<SearchHit> VideoIndex::search(const std::string& text, const SearchOptions& options) {
  return impl_->search_text_features(impl_->text_features(text), options);
}
std::vector<SearchHit> VideoIndex::search_like(const std::string& video_path, const SearchOptions& options) {
  return impl_->search_like(video_path, options);
}
std::vector<SearchHit> VideoIndex::search_video_features(const Tensor& video_features, const SearchOptions& options) {
  return impl_->search_video_features(video_features, options);
}
std::vector<SearchHit> VideoIndex::search_text_features(const Tensor& text_features, const SearchOptions& options) {
  return impl_->search_text_features(text_features, options);
}
std::vector<SearchHit> VideoIndex::rank_all(const Tensor& text_features) { return impl_->rank_all(text_features); }
std::vector<std::uint8_t> VideoIndex::thumbnail(std::int64_t window_id) const { return impl_->store.thumbnail(window_id); }
std::string VideoIndex::thumbnail_path(std::int64_t window_id) const { return impl_->thumbnail_path(window_id); }
IndexInfo VideoIndex::info() const { return impl_->info(); }
std::vector<IndexedWindow> VideoIndex::windows() const { return impl_->store.windows(impl_->shape); }
std::optional<IndexedWindow> VideoIndex::window(std::int64_t id) const {
  const auto meta = impl_->store.window_meta(id);
  if (!meta) return std::nullopt;
  return IndexedWindow{id, meta->path, meta->start, meta->end, meta->frame_indices, {}};
}
const std::string& VideoIndex::dir() const { return impl_->store.dir(); }

}  // namespace xclip
