// IndexShard: one index folder kept in line with its files, and its two search stages.
#include "index/index_shard.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/check.h"
#include "io/mmap_file.h"
#include "pipeline/prepare.h"
#include "pipeline/prefetch.h"
#include "text/unicode.h"
#include "video/jpeg.h"
#include "xclip/hub.h"
#include "xclip/model.h"
#include "xclip/pipeline.h"

namespace xclip::index {

namespace fs = std::filesystem;

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

// Decoded, preprocessed windows of one file, handed from the decoding thread to inference.
struct WindowChunk {
  std::size_t file = 0;  // position in the list of files to embed
  bool first = false, last = false;
  std::string error;  // the file cannot be indexed (no further chunks of it follow)
  double duration = 0;
  std::int64_t frame_count = 0;
  std::int64_t pictures_decoded = 0;  // by the decoders for this chunk
  std::vector<WindowRecord> windows;  // times, frame indices, thumbnails
  Tensor pixels;                      // F32 [windows, T, 3, H, W]
};

WindowChunk decode_chunk(const IndexShard& shard, const VideoProcessor& processor, VideoReader& reader,
                         const std::vector<std::pair<double, double>>& spans, std::size_t begin, std::size_t end,
                         bool timed) {
  const IndexSettings& settings = shard.settings;
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
  const Tensor frames = pipeline::preprocess_frames(reader, all, processor, used, thumbnail);
  chunk.pictures_decoded = reader.last_stats().decoded_frames;
  chunk.pixels = frames.reshaped(
      {static_cast<std::int64_t>(chunk.windows.size()), t, frames.dim(1), frames.dim(2), frames.dim(3)});
  for (std::size_t i = 0; i < chunk.windows.size(); ++i)
    std::copy(used.begin() + static_cast<std::ptrdiff_t>(i) * t, used.begin() + static_cast<std::ptrdiff_t>(i + 1) * t,
              chunk.windows[i].frame_indices.begin());
  return chunk;
}

void produce_windows(const IndexShard& shard, const VideoProcessor& processor, const std::vector<FileVersion>& files,
                     const pipeline::Prefetcher<WindowChunk>::Emit& emit) {
  VideoOpenOptions open;
  open.limits = shard.options.decode_limits;
  open.threads = shard.options.decode_threads;
  open.seek = shard.settings.seek;
  const std::size_t batch = 4;  // windows per forward: the same for every run, so results repeat bit for bit
  for (std::size_t f = 0; f < files.size(); ++f) {
    try {
      VideoReader reader = VideoReader::open(files[f].path, open);
      const VideoInfo& info = reader.info();
      double duration = info.duration_seconds;
      if (!(duration > 0) && info.average_fps > 0) duration = static_cast<double>(info.frame_count) / info.average_fps;
      const auto spans = plan_windows(duration, shard.settings);
      for (std::size_t first = 0; first < spans.size(); first += batch) {
        WindowChunk chunk =
            decode_chunk(shard, processor, reader, spans, first, std::min(spans.size(), first + batch), duration > 0);
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

// Embeds a chunk's windows into `record`.
void embed_chunk(IndexShard& shard, const WindowChunk& chunk, VideoRecord& record) {
  const FeatureShape& shape = shard.shape;
  const VideoSearchFeatures f = shard.session->get_video_search_features(chunk.pixels);
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
      std::memcpy(w.keys_values.data() + l * per_layer, f.prompt_keys_values.data<float>() + (l * n + i) * per_layer,
                  sizeof(float) * per_layer);
    record.windows.push_back(std::move(w));
  }
}

}  // namespace

IndexShard::IndexShard(const std::string& dir, const IndexOpenOptions& o, std::shared_ptr<SharedModel> shared)
    : store(dir, o.create), options(o), shared_model(std::move(shared)) {
  if (!store.initialised()) {
    XCLIP_CHECK(o.create, IoError) << dir << ": not an initialised index";
    create();
  }
  read_meta();
}

std::string SharedModel::fingerprint(const std::string& folder) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = fingerprints.find(folder);
  if (it == fingerprints.end()) it = fingerprints.emplace(folder, folder_fingerprint(folder)).first;
  return it->second;
}

IndexShard::~IndexShard() = default;

void IndexShard::create() {
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
  const WeightType created = created_dtype(folder);
  Transaction t(store.db());
  store.set_meta("format_version", std::to_string(kFormatVersion));
  store.set_meta("model", options.model);
  store.set_meta("model_path", fs::absolute(folder).string());
  store.set_meta("model_fingerprint", shared_model->fingerprint(folder));
  store.set_meta("revision", snapshot_revision(folder));
  store.set_meta("dtype", dtype_name(created));
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
// float32). Read from the folder, not by loading the model: the update loads it while the
// first file decodes.
WeightType IndexShard::created_dtype(const std::string& folder) {
  if (options.loaded_model) return options.loaded_model->weights();
  return Model::resolve_weights(folder, options.dtype);
}

void IndexShard::read_meta() {
  const int version = std::stoi(store.required_meta("format_version"));
  XCLIP_CHECK(version <= kFormatVersion, FormatError)
      << db_path() << ": written by a newer xclip (index format " << version << "; this one reads up to "
      << kFormatVersion << ")";
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
    const std::string fingerprint = shared_model->fingerprint(folder);
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

void IndexShard::check_model_folder() {
  XCLIP_CHECK(fs::exists(fs::path(model_path) / "config.json"), IoError)
      << store.dir() << ": the index's model " << store.required_meta("model") << " is no longer at " << model_path
      << "; pass the same model explicitly (--model)";
  const std::string fingerprint = shared_model->fingerprint(model_path);
  XCLIP_CHECK(fingerprint == store.required_meta("model_fingerprint"), InvalidArgument)
      << store.dir() << ": the model folder " << model_path << " changed since the index was built (fingerprint "
      << fingerprint << ", recorded " << store.required_meta("model_fingerprint") << ")";
}

void IndexShard::ensure_model() {
  if (session) return;
  check_model_folder();
  std::shared_ptr<const Model> model;
  {
    std::lock_guard<std::mutex> lock(shared_model->model_mutex);
    std::shared_ptr<const Model>& shared = shared_model->model;
    if (options.loaded_model) {
      shared = options.loaded_model;
    } else if (!shared || shared->weights() != dtype || fs::absolute(shared->path()).string() != model_path) {
      LoadOptions load;
      load.num_threads = options.num_threads;
      load.weights = dtype;
      shared = Model::load(model_path, load);
    }
    model = shared;
  }
  session = std::make_unique<Session>(model);
}

const VideoProcessor& IndexShard::video_processor() {
  std::lock_guard<std::mutex> lock(shared_model->mutex);
  if (!shared_model->video_processor)
    shared_model->video_processor = std::make_shared<const VideoProcessor>(VideoProcessor::from_folder(model_path));
  return *shared_model->video_processor;
}

const Tokenizer& IndexShard::tokenizer() {
  std::lock_guard<std::mutex> lock(shared_model->mutex);
  if (!shared_model->tokenizer)
    shared_model->tokenizer = std::make_shared<const Tokenizer>(Tokenizer::from_folder(model_path));
  return *shared_model->tokenizer;
}

Tensor IndexShard::text_features(const std::string& text) {
  const std::size_t bad = text::invalid_utf8_offset(text);
  XCLIP_CHECK(bad == std::string::npos, InvalidArgument)
      << "the query is not valid UTF-8 (byte " << bad << " of " << text.size() << ")";
  XCLIP_CHECK(!text.empty(), InvalidArgument) << "the query is empty";
  ensure_model();
  return prompt_features(*session, tokenizer(), {text});
}

// get_video_features of a video's first window, sampled as the index samples windows.
Tensor IndexShard::video_features_of(const std::string& path) {
  ensure_model();
  VideoReader reader = VideoReader::open(path);
  SamplingOptions s;
  s.num_frames = settings.num_frames;
  const DecodedFrames frames = reader.frames_at(sample_clips(reader, s).indices.front());
  return session->get_video_features(video_processor().preprocess({frames.frames}));
}

// Stored features of `ids` as the model takes them, in a buffer kept between queries.
VideoSearchFeatures IndexShard::search_features(const std::vector<std::int64_t>& ids) {
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

std::string IndexShard::vectors_path() const { return (fs::path(store.dir()) / "vectors.faiss").string(); }

bool IndexShard::load_saved_vectors(std::int64_t generation) {
  const std::string path = vectors_path();
  if (store.meta("vectors_generation") != std::to_string(generation) || !fs::exists(path)) return false;
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  // A damaged file (truncated, overwritten) is rebuilt from the database, never trusted.
  if (ec || store.meta("vectors_bytes") != std::to_string(bytes) || store.meta("vectors_hash") != whole_file_hash(path))
    return false;
  vectors = std::make_unique<VectorIndex>(VectorIndex::load(path, static_cast<int>(shape.dim)));
  return true;
}

void IndexShard::ensure_vectors() {
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
void IndexShard::save_vectors(std::int64_t generation) {
  try {
    vectors->save(vectors_path());
    Transaction t(store.db());
    store.set_meta("vectors_generation", std::to_string(generation));
    store.set_meta("vectors_bytes", std::to_string(fs::file_size(vectors_path())));
    store.set_meta("vectors_hash", whole_file_hash(vectors_path()));
    store.set_meta("vectors_kind", vectors->kind());
    t.commit();
  } catch (const IoError&) {
  }
}

// ---- update ----

UpdatePlan IndexShard::plan_update(const std::vector<FileVersion>& files, const std::vector<std::string>& roots,
                                   IndexUpdateReport& report) {
  UpdatePlan plan;
  plan.indexed = store.videos();
  const auto failures = store.failures();
  std::set<std::string> seen;
  for (const FileVersion& f : files) {
    seen.insert(f.path);
    auto it = plan.indexed.find(f.path);
    if (it != plan.indexed.end() && it->second.size == f.size && it->second.mtime_ns == f.mtime_ns) {
      ++report.unchanged;
      continue;
    }
    auto failed = failures.find(f.path);
    if (it == plan.indexed.end() && failed != failures.end() && failed->second.first.size == f.size &&
        failed->second.first.mtime_ns == f.mtime_ns) {
      report.failed.emplace_back(f.path, failed->second.second);  // known unreadable, unchanged
      continue;
    }
    plan.todo.push_back(f);
  }
  const auto under_roots = [&](const std::string& path) {
    return std::any_of(roots.begin(), roots.end(), [&](const std::string& r) { return path_under(path, r); });
  };
  // Held files under these roots that are gone: moved (same content at a new path) or removed.
  for (const auto& [path, v] : plan.indexed)
    if (under_roots(path) && !seen.count(path) && !fs::exists(path)) plan.vanished.push_back(v);
  for (const auto& [path, f] : failures)
    if (under_roots(path) && !seen.count(path)) plan.gone_failures.push_back(path);
  return plan;
}

VideoRecord IndexShard::read_video(const StoredVideo& video) { return store.read_video(video.id, shape); }

void IndexShard::remove_vanished(const UpdatePlan& plan, IndexUpdateReport& report) {
  std::vector<std::int64_t> ids;
  for (const StoredVideo& v : plan.vanished) ids.push_back(v.id);
  report.removed += store.remove_videos(ids);
  ids.clear();
  for (const StoredVideo& v : plan.adopted_away) ids.push_back(v.id);
  store.remove_videos(ids);
  store.forget_failures(plan.gone_failures);
}

void IndexShard::embed_files(const std::vector<FileVersion>& files, const std::vector<std::string>& hashes,
                             const std::map<std::string, StoredVideo>& indexed, IndexUpdateReport& report,
                             const std::function<void(const std::string&, std::int64_t)>& on_file_done) {
  if (files.empty()) return;
  check_model_folder();
  const VideoProcessor& processor = video_processor();
  pipeline::Prefetcher<WindowChunk> prefetcher(2, [&](const pipeline::Prefetcher<WindowChunk>::Emit& emit) {
    produce_windows(*this, processor, files, emit);
  });
  ensure_model();  // while the first windows decode: loading takes 0.1-0.2 s
  VideoRecord record;
  std::string error;
  std::int64_t pictures = 0;  // decoded for the current file
  while (auto chunk = prefetcher.next()) {
    const FileVersion& file = files[chunk->file];
    if (chunk->first || !chunk->error.empty()) {
      record = VideoRecord{file.path, file.size, file.mtime_ns, hashes[chunk->file], chunk->duration,
                           chunk->frame_count, {}};
      error.clear();
      pictures = 0;
    }
    error = chunk->error;
    pictures += chunk->pictures_decoded;
    if (error.empty()) {
      try {
        embed_chunk(*this, *chunk, record);
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
    std::int64_t windows = 0;
    if (error.empty()) {
      store.put_video(record, shape);
      ++(indexed.count(file.path) ? report.updated : report.added);
      windows = static_cast<std::int64_t>(record.windows.size());
      report.windows_added += windows;
      report.pictures_decoded += pictures;  // both counts cover the files embedded
      report.pictures_in_files += record.frame_count;
    } else {
      store.put_failure(StoredVideo{0, file.path, file.size, file.mtime_ns, ""}, error);
      report.failed.emplace_back(file.path, error);
    }
    if (on_file_done) on_file_done(file.path, windows);
  }
}

void IndexShard::finish_update() {
  store.checkpoint();
  ensure_vectors();
  sweep_thumbnails();
}

// ---- search ----

void IndexShard::check_query_features(const Tensor& features, const char* what) const {
  XCLIP_CHECK(features.defined() && features.dtype() == DType::F32 && features.numel() == shape.dim &&
                  (features.rank() == 1 || (features.rank() == 2 && features.dim(0) == 1)),
              InvalidArgument)
      << what << ": expected F32 [1, " << shape.dim << "], got "
      << (features.defined() ? features.describe() : std::string("nothing"));
}

Neighbours IndexShard::nearest(const float* query, std::int64_t k, int nprobe) {
  ensure_vectors();
  return vectors->search(query, k, nprobe);
}

std::vector<float> IndexShard::logits(const std::vector<std::int64_t>& ids, const Tensor& text_features) {
  if (ids.empty()) return {};
  ensure_model();
  const Tensor l = session->logits_from_video_features(search_features(ids), text_features);
  return std::vector<float>(l.data<float>(), l.data<float>() + l.numel());
}

std::vector<SearchHit> IndexShard::rank_all(const Tensor& features) {
  std::vector<std::int64_t> ids;
  std::vector<float> embeddings;
  store.all_embeddings(shape, ids, embeddings);
  std::vector<SearchHit> hits;
  const std::size_t batch = 64;
  for (std::size_t first = 0; first < ids.size(); first += batch) {
    const std::vector<std::int64_t> part(ids.begin() + static_cast<std::ptrdiff_t>(first),
                                         ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), first + batch)));
    const std::vector<float> l = logits(part, features);
    for (std::size_t i = 0; i < part.size(); ++i) {
      SearchHit h;
      h.window_id = part[i];
      h.score = l[i];
      h.reranked = true;
      hits.push_back(h);
    }
  }
  return hits;
}

bool IndexShard::locate(SearchHit& hit) {
  const auto meta = store.window_meta(hit.window_id);
  if (!meta || !fs::exists(meta->path)) return false;
  hit.path = meta->path;
  hit.start = meta->start;
  hit.end = meta->end;
  return true;
}

std::size_t IndexShard::remove(const std::vector<std::string>& paths) {
  std::vector<std::string> roots;
  for (const std::string& p : paths) roots.push_back(absolute_path(p));
  std::vector<std::int64_t> ids;
  std::vector<std::string> failed;
  const auto under_roots = [&](const std::string& path) {
    return std::any_of(roots.begin(), roots.end(), [&](const std::string& r) { return path_under(path, r); });
  };
  for (const auto& [path, v] : store.videos())
    if (under_roots(path)) ids.push_back(v.id);
  for (const auto& [path, f] : store.failures())
    if (under_roots(path)) failed.push_back(path);
  store.forget_failures(failed);
  return store.remove_videos(ids);
}

// Cached thumbnails of windows that are gone (ids are never reused, so the rest stay right).
void IndexShard::sweep_thumbnails() {
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

std::string IndexShard::thumbnail_path(std::int64_t id) {
  const fs::path dir = fs::path(store.dir()) / "thumbnails";
  const fs::path file = dir / (std::to_string(id) + ".jpg");
  if (fs::exists(file)) return file.string();
  const std::vector<std::uint8_t> jpeg = store.thumbnail(id);
  std::error_code ec;
  fs::create_directories(dir, ec);
  io::write_file_atomically(file.string(),
                            std::string_view(reinterpret_cast<const char*>(jpeg.data()), jpeg.size()), "the thumbnail");
  return file.string();
}

IndexInfo IndexShard::info() {
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
                 ? "ivf" + std::to_string(ivf_lists_for(i.windows))
                 : "flat";
  return i;
}

}  // namespace xclip::index
