// xclip watch: standing zero-shot labels and text queries on a live source.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "command_spec.h"
#include "commands.h"
#include "output_formats.h"
#include "xclip/watch.h"

namespace xclip::cli {

namespace {

const CommandSpec kWatch = {
    "xclip watch SOURCE (--labels \"a,b,c\" | --labels-file FILE | --query TEXT...) [options]",
    "Watches a live source and scores each window of it as it closes: zero-shot probabilities\n"
    "over the labels (as `xclip classify`), and for each standing query X-CLIP's logit (or, with\n"
    "--background, the query's probability against those prompts). Events start when a label or\n"
    "query reaches --on for --hold windows in a row and end at the first window under --off.\n"
    "SOURCE is anything FFmpeg opens: a file (read once; --follow waits for more as it grows),\n"
    "- (standard input), udp://, rtp://, rtsp://, http(s):// (HLS too), a V4L2 device. A network\n"
    "source that drops is reopened with backoff (the gap is reported); SIGTERM, Ctrl-C or the end\n"
    "of input closes open events and exits 0.\n\n"
    "Output: JSON lines (window, event, skip, gap and status records); a compact table on a\n"
    "terminal unless --format jsonl.",
    label_options("the zero-shot label set") +
        OptionList{
            {"query", "TEXT", "a standing query (repeatable)"},
            {"background", "\"a,b\"", "prompts each query competes with (its score is then a probability)"},
            {"template", "T", "prompt template, \"{}\" replaced by each label or query (as classify)"},
            {"window", "S", "window length in seconds (default 2)"},
            {"stride", "S", "start-to-start distance in seconds (default 1)"},
            {"on", "P", "event start threshold (default 0.5)"},
            {"off", "P", "event end threshold (default 0.4; off <= on)"},
            {"hold", "K", "consecutive windows at --on to start an event (default 2)"},
            {"cooldown", "S", "seconds after an event before the same one can start again (default 0)"},
            {"thumbnails", "DIR", "each event's JPEG thumbnail (the peak window's middle frame)"},
            {"exec", "CMD", "run CMD (/bin/sh -c) for each event record, the JSON on its standard input"},
            {"webhook", "URL", "POST each event record as JSON (retried with backoff; never blocks)"},
            {"follow", "", "a file: wait for more data at its end"},
            {"open-timeout", "S", "how long opening may wait for the source's first data (default 10)"},
            {"timeout", "S",
             "how long reading may wait for more before the source counts as dropped\n"
             "(default 10)"},
            {"max-reconnects", "N", "give up after N reopenings in a row (default: never)"},
            {"skip-when-behind", "yes|no", "(default: yes for network sources and devices, no for files)"},
            {"max-frames", "N",
             "most frames one window may hold (default " + std::to_string(WatchOptions{}.max_frames_per_window) + ")"},
            {"format", "jsonl|table", "(default: table on a terminal, else jsonl)"}} +
        max_pixels_option() + model_option("required") + dtype_option() + threads_option() +
        quiet_option("no download progress"),
    "example:\n"
    "  ffmpeg -re -i cam.mp4 -f mpegts udp://127.0.0.1:5000 &\n"
    "  xclip watch udp://127.0.0.1:5000 --model microsoft/xclip-base-patch32 --labels \"a person "
    "falling,walking,sitting\""};

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

void print_table(const WatchRecord& r) {
  char line[256];
  switch (r.type) {
    case WatchRecordType::Window: {
      std::string scores;
      for (const WatchScore& s : r.labels) {
        std::snprintf(line, sizeof(line), "  %s %.3f", s.text.c_str(), s.score);
        scores += line;
      }
      for (const WatchScore& s : r.queries) {
        std::snprintf(line, sizeof(line), "  \"%s\" %.3f", s.text.c_str(), s.score);
        scores += line;
      }
      std::printf("%8.2f-%-8.2f%s  (%.0f ms)\n", r.start, r.end, scores.c_str(), r.latency_ms);
      break;
    }
    case WatchRecordType::EventStart:
      std::printf(">>> %s started at %.2f s (peak %.3f)\n", r.target.c_str(), r.start, r.peak);
      break;
    case WatchRecordType::EventEnd:
      std::printf("<<< %s %.2f-%.2f s (peak %.3f)%s%s\n", r.target.c_str(), r.start, r.end, r.peak,
                  r.thumbnail.empty() ? "" : " ", r.thumbnail.c_str());
      break;
    default:
      std::printf("--- %s\n", watch_record_json(r).c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int run_watch(int argc, char** argv) {
  const Args args = parse_args(kWatch, argc, argv);
  if (args.flag("help")) {
    std::cout << help_text(kWatch);
    return 0;
  }
  if (args.positionals().size() != 1) throw UsageError("give one SOURCE");
  WatchOptions o;
  o.model = args.required("model");
  o.dtype = parse_dtype(args);
  o.num_threads = args.get_int("threads", 0);
  o.labels = parse_labels(args);
  o.queries = args.all("query");
  if (args.has("background")) o.background = split_commas(args.get("background"));
  if (o.labels.empty() && o.queries.empty()) throw UsageError("give --labels, --labels-file or --query");
  if (!o.background.empty() && o.queries.empty()) throw UsageError("--background needs --query");
  o.text_template = args.get("template", "{}");
  o.window_seconds = args.get_double("window", 2.0);
  o.stride_seconds = args.get_double("stride", 1.0);
  o.events.on = args.get_double("on", 0.5);
  o.events.off = args.get_double("off", 0.4);
  o.events.hold = args.get_int("hold", 2);
  o.events.cooldown_seconds = args.get_double("cooldown", 0.0);
  o.thumbnails_dir = args.get("thumbnails");
  o.exec_command = args.get("exec");
  o.webhook_url = args.get("webhook");
  o.follow = args.flag("follow");
  o.read_timeout_seconds = args.get_double("timeout", 10.0);
  o.open_timeout_seconds = args.get_double("open-timeout", 10.0);
  if (o.read_timeout_seconds <= 0 || o.open_timeout_seconds <= 0) throw UsageError("timeouts must be positive");
  o.max_reconnects = args.get_int("max-reconnects", -1);
  if (args.has("skip-when-behind")) {
    const std::string v = args.get("skip-when-behind");
    if (v != "yes" && v != "no") throw UsageError("--skip-when-behind must be yes or no");
    o.skip_when_behind = v == "yes";
  }
  o.max_frames_per_window = args.get_int("max-frames", o.max_frames_per_window);
  o.decode_limits = parse_decode_limits(args);
  const std::string format = args.get("format", isatty(STDOUT_FILENO) ? "table" : "jsonl");
  if (format != "jsonl" && format != "table") throw UsageError("--format must be jsonl or table");

  Watcher watcher(o);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  const WatchSummary s = watcher.run(
      args.positionals()[0],
      [&](const WatchRecord& r) {
        if (format == "table") return print_table(r);
        std::cout << watch_record_json(r) << "\n" << std::flush;
      },
      &g_stop);
  if (!args.flag("quiet"))
    std::fprintf(stderr,
                 "xclip watch: %lld frames, %lld windows, %lld skipped, %lld events, %lld corrupt packets, %lld "
                 "reopenings, %lld deliveries failed, %lld dropped\n",
                 static_cast<long long>(s.frames), static_cast<long long>(s.windows), static_cast<long long>(s.skipped),
                 static_cast<long long>(s.events), static_cast<long long>(s.corrupt_packets),
                 static_cast<long long>(s.reconnects), static_cast<long long>(s.deliveries_failed),
                 static_cast<long long>(s.deliveries_dropped));
  return 0;
}

}  // namespace xclip::cli
