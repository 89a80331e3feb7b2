// xclip index / xclip search: build and query a video collection's search index.
#include <sched.h>
#include <sys/resource.h>

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command_spec.h"
#include "commands.h"
#include "json_views.h"
#include "output_formats.h"
#include "video_sampling.h"
#include "xclip/index.h"

namespace xclip::cli {

namespace {

const CommandSpec kIndex = {
    "xclip index PATH... --index DIR [--model ID|DIR] [options]\n"
    "xclip index PATH... --index DIR --shards N [--shard K [--keep-vanished]]\n"
    "xclip index --index DIR --remove PATH...\n"
    "xclip index --index DIR --info | --list",
    "Indexes the videos under PATH (files, or folders searched recursively for video\n"
    "extensions) for `xclip search`. Long videos are cut into windows; each window stores its\n"
    "embedding, what X-CLIP's prompt generator needs from it, and a thumbnail. Re-running skips\n"
    "unchanged files without decoding them, re-embeds changed ones, renames moved ones and drops\n"
    "deleted ones. Each file is committed on its own: an interrupted run keeps what it finished,\n"
    "and the next run completes it. Unreadable files are listed and skipped.",
    OptionList{{"index", "DIR", "the index folder (created on first use)"}} +
        model_option("required to create; must match an existing index") +
        OptionList{{"window", "SECONDS", "window length (default 10; creating only)"},
                   {"stride", "SECONDS", "start-to-start distance (default: the window; creating only)"},
                   {"frames", "N", "frames per window (default: the model's num_frames)"},
                   {"seek", "exact|keyframe",
                    "keyframe: each sampled frame replaced by the keyframe at or before it,\n"
                    "one decoded picture per frame (fast, inexact; recorded, shown by --info,\n"
                    "and --list gives the frames used); creating only"}} +
        dtype_option() + decode_limit_options() +
        OptionList{{"approximate-from", "N", "approximate (IVF) stage 1 from N windows (default 100000)"},
                   {"shards", "N",
                    "make DIR a collection of N shards (creating only): DIR/collection.json\n"
                    "and N index folders, each file in the shard its path's hash picks;\n"
                    "searched exactly as one index. Opening: must match, if given"},
                   {"shard", "K",
                    "update only shard K of a collection (one process per shard, e.g. on\n"
                    "several machines); files moved in from other shards are still adopted"},
                   {"keep-vanished", "",
                    "leave files gone from disk in the index for now (another shard may still\n"
                    "adopt them); a later run without it removes them"}} +
        threads_option("threads for the model, and for decoding (which runs alongside it)") +
        OptionList{{"low-priority", "",
                    "run at the lowest CPU priority (nice 19, SCHED_IDLE), for indexing while\n"
                    "you work"},
                   {"remove", "", "remove PATH... from the index instead"},
                   {"info", "", "print the index's model, settings and size (JSON)"},
                   {"list", "", "print every window (JSON lines: id, path, start, end, frames)"},
                   {"format", "text|json", "the summary of a run (default text)"},
                   {"verbose", "",
                    "also say how many pictures the decoders produced against the pictures\n"
                    "of the files embedded (on stderr; the JSON summary always has both)"}} +
        quiet_option("no progress line"),
    "example:\n"
    "  xclip index ~/videos --index ~/videos.xclip --model microsoft/xclip-base-patch32"};

const CommandSpec kSearch = {
    "xclip search TEXT --index DIR [--top K] [--rerank N] [--format text|json]\n"
    "xclip search --like VIDEO --index DIR [--top K]",
    "Finds the moments of an indexed collection that match TEXT: stage 1 takes the N windows\n"
    "nearest to the text's embedding, stage 2 re-scores them with X-CLIP's own logit (the text\n"
    "conditioned on each window's visual features, as XCLIPModel.forward computes it) and sorts\n"
    "by it. --like VIDEO ranks windows by their similarity to a video's embedding (stage 1 only).",
    OptionList{{"index", "DIR", "the index or collection to search"},
               {"top", "K", "hits to print (default 10)"},
               {"rerank", "N", "stage-1 candidates re-scored by X-CLIP (default 100; 0 = stage 1 only)"},
               {"nprobe", "N", "approximate stage 1: lists scanned per query (default 32)"},
               {"like", "VIDEO", "search by a video instead of a text"}} +
        model_option("default: the one the index was built with") + threads_option("intra-op threads") +
        OptionList{{"format", "text|json", "(default text)"}} + quiet_option("no download progress"),
    "example:\n"
    "  xclip search \"a dog catching a frisbee\" --index ~/videos.xclip --top 5"};

IndexOpenOptions open_options(const Args& args, bool create) {
  IndexOpenOptions o;
  o.model = args.get("model");
  o.num_threads = args.get_int("threads", 0);
  o.decode_threads = o.num_threads;  // --threads N: N for the model and N for decoding, which overlap
  o.create = create;
  o.hub.progress = !args.flag("quiet");
  o.dtype = parse_dtype(args);  // auto: what the model folder runs in everywhere else
  o.decode_limits = parse_decode_limits(args);
  o.settings.window_seconds = args.get_double("window", 10.0);
  o.settings.stride_seconds = args.get_double("stride", 0.0);
  o.settings.num_frames = args.get_int("frames", 0);
  o.settings.seek = parse_seek_mode(args);
  o.approximate_from = args.get_int("approximate-from", 100000);
  o.shards = args.get_int("shards", 0);
  return o;
}

// Before any thread starts, so that every thread inherits it: the scheduler then gives the
// indexer only the CPU time nothing else wants.
void lower_priority() {
  if (setpriority(PRIO_PROCESS, 0, 19) != 0) std::perror("xclip index: setpriority");
  sched_param idle{};
  if (sched_setscheduler(0, SCHED_IDLE, &idle) != 0) std::perror("xclip index: SCHED_IDLE");
}

void print_report(const IndexUpdateReport& r, const std::string& format) {
  if (format == "json") {
    std::cout << views::update_report<nlohmann::ordered_json>(r).dump(2, ' ', false,
                                                                      nlohmann::json::error_handler_t::replace)
              << "\n";
    return;
  }
  std::printf("%zu added, %zu updated, %zu moved, %zu removed, %zu unchanged, %zu failed; %lld windows in %.2f s\n",
              r.added, r.updated, r.moved, r.removed, r.unchanged, r.failed.size(),
              static_cast<long long>(r.windows_added), r.seconds);
}

}  // namespace

int run_index(int argc, char** argv) {
  const Args args = parse_args(kIndex, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kIndex);
    return 0;
  }
  const std::string format = args.get("format", "text");
  if (format != "text" && format != "json") throw UsageError("--format must be text or json");
  const std::string dir = args.required("index");
  if (args.flag("low-priority")) lower_priority();
  const bool query_only = args.flag("info") || args.flag("list");
  if (!query_only && args.positionals().empty()) throw UsageError("no files or folders to index");
  VideoIndex index = VideoIndex::open(dir, open_options(args, !query_only && !args.flag("remove")));
  if (args.flag("info")) {
    std::cout << views::index_info<nlohmann::ordered_json>(index.info())
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
    return 0;
  }
  if (args.flag("list")) {
    for (const IndexedWindow& w : index.windows())
      std::cout << nlohmann::ordered_json{{"id", w.id},
                                          {"path", w.path},
                                          {"start", w.start},
                                          {"end", w.end},
                                          {"frames", w.frame_indices}}
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    return 0;
  }
  if (args.flag("remove")) {
    std::printf("%zu videos removed\n", index.remove(args.positionals()));
    return 0;
  }
  ProgressLine progress(args.flag("quiet"));
  IndexUpdateOptions update;
  update.shard = args.get_int("shard", -1);
  update.remove_vanished = !args.flag("keep-vanished");
  const IndexUpdateReport report = index.update(
      args.positionals(), [&](const IndexProgress& p) { progress.update_index(p); }, update);
  progress.interrupt();
  for (const auto& [path, why] : report.failed) std::fprintf(stderr, "skipped %s: %s\n", path.c_str(), why.c_str());
  if (args.flag("verbose") && report.pictures_in_files > 0)
    std::fprintf(stderr, "pictures decoded: %lld of the %lld in the files embedded (%.0f %%)\n",
                 static_cast<long long>(report.pictures_decoded), static_cast<long long>(report.pictures_in_files),
                 100.0 * static_cast<double>(report.pictures_decoded) / static_cast<double>(report.pictures_in_files));
  print_report(report, format);
  return 0;
}

int run_search(int argc, char** argv) {
  const Args args = parse_args(kSearch, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kSearch);
    return 0;
  }
  const std::string format = args.get("format", "text");
  if (format != "text" && format != "json") throw UsageError("--format must be text or json");
  const bool like = args.has("like");
  if (like != args.positionals().empty()) throw UsageError("give one query TEXT, or --like VIDEO");
  if (args.positionals().size() > 1) throw UsageError("one query at a time (quote a query with spaces)");
  SearchOptions o;
  o.top = args.get_int("top", 10);
  o.rerank = args.get_int("rerank", 100);
  o.nprobe = args.get_int("nprobe", 32);
  VideoIndex index = VideoIndex::open(args.required("index"), open_options(args, false));
  const std::vector<SearchHit> hits =
      like ? index.search_like(args.get("like"), o) : index.search(args.positionals()[0], o);
  if (format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const SearchHit& h : hits) {
      nlohmann::ordered_json hit = views::search_hit<nlohmann::ordered_json>(h);
      hit["thumbnail"] = index.thumbnail_path(h.window_id);
      out.push_back(hit);
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (const SearchHit& h : hits)
    std::printf("%9.4f  %s  %.2f-%.2f s  %s\n", h.score, h.path.c_str(), h.start, h.end,
                index.thumbnail_path(h.window_id).c_str());
  return 0;
}

}  // namespace xclip::cli
