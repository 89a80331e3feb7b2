// xclip: command-line front end. Exit codes: 0 ok, 1 runtime error, 2 usage error.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "args.h"
#include "commands.h"
#include "xclip/features.h"
#include "xclip/xclip.h"

namespace {

const char* kUsage = R"(usage: xclip <command> [options]

commands:
  classify    rank labels for videos (zero-shot), by probability
  embed       video embeddings (get_video_features) to .safetensors / .npy / .jsonl
  embed-text  text embeddings (get_text_features)
  forward     run XCLIPModel on tensors from a safetensors file (parity with transformers)
  tokenize    texts -> input_ids / attention_mask (JSON), as CLIPTokenizerFast
  preprocess  frames -> pixel_values, as VideoMAEImageProcessor
  probe       video metadata (JSON)
  frames      decode sampled frames of a video
  convert     rewrite a model folder with int8 (or float32) weights, for fast loading
  info        what a model folder holds and runs in (JSON), with its int8 self-check
  index       index a video collection for search (incremental, resumable)
  search      find the moments of an indexed collection that match a text (or a video)
  serve       HTTP service (JSON routes, dynamic batching, metrics) and a search page
  watch       standing labels and text queries on a live stream (events, webhooks)

Run 'xclip <command> --help' for the options of a command.
)";

// The commands of layers this build left out (CMake's XCLIP_WITH_*) answer with what is missing.
[[maybe_unused]] int not_built(const std::string& command, const char* option) {
  std::cerr << "xclip " << command << ": this build of xclip has no " << command << " (configured with " << option
            << "=OFF); rebuild with -D" << option << "=ON\n";
  return 2;
}

// libgomp (the OpenMP of the model's kernels and of oneDNN) reads its spin policy as it loads,
// before main: a thread done with its share of a parallel region spins up to GOMP_SPINCOUNT
// iterations (300,000 by default) for the next one. Where the model shares the cores with the
// prefetcher's decoder threads that spinning takes their time: indexing 60 s of 1080p in int8
// with 2 s windows took 9.8 s with the default and 8.7 s with 1,000 (docs/search.md). The
// commands that decode while the model runs therefore start again, once, with a short spin,
// unless the caller chose a policy; if the restart fails they run on as they are.
void restart_with_short_openmp_spin(const std::string& command, char** argv) {
  if (command != "index" && command != "embed" && command != "classify") return;
  if (std::getenv("GOMP_SPINCOUNT") != nullptr || std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0) return;
  execv("/proc/self/exe", argv);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::cout << "xclip " << XCLIP_VERSION_STRING << "\n";
    return 0;
  }
  const std::string command = argv[1];
  restart_with_short_openmp_spin(command, argv);
  try {
    if (command == "classify") return xclip::cli::run_classify(argc, argv);
    if (command == "embed") return xclip::cli::run_embed(argc, argv);
    if (command == "embed-text") return xclip::cli::run_embed_text(argc, argv);
    if (command == "forward") return xclip::cli::run_forward(argc, argv);
    if (command == "tokenize") return xclip::cli::run_tokenize(argc, argv);
    if (command == "preprocess") return xclip::cli::run_preprocess(argc, argv);
    if (command == "probe") return xclip::cli::run_probe(argc, argv);
    if (command == "frames") return xclip::cli::run_frames(argc, argv);
    if (command == "convert") return xclip::cli::run_convert(argc, argv);
    if (command == "info") return xclip::cli::run_info(argc, argv);
#if XCLIP_WITH_INDEX
    if (command == "index") return xclip::cli::run_index(argc, argv);
    if (command == "search") return xclip::cli::run_search(argc, argv);
#else
    if (command == "index" || command == "search") return not_built(command, "XCLIP_WITH_INDEX");
#endif
#if XCLIP_WITH_SERVER
    if (command == "serve") return xclip::cli::run_serve(argc, argv);
#else
    if (command == "serve") return not_built(command, "XCLIP_WITH_SERVER");
#endif
    if (command == "watch") return xclip::cli::run_watch(argc, argv);
    std::cerr << "xclip: unknown command '" << command << "'\n" << kUsage;
    return 2;
  } catch (const xclip::cli::UsageError& e) {
    std::cerr << "xclip " << command << ": " << e.what() << "\n(see 'xclip " << command << " --help')\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "xclip " << command << ": error: " << e.what() << "\n";
    return 1;
  }
}
