#pragma once

namespace xclip::cli {

// Each command returns the process exit code; errors propagate as exceptions.
int run_forward(int argc, char** argv);
int run_tokenize(int argc, char** argv);
int run_preprocess(int argc, char** argv);
int run_probe(int argc, char** argv);
int run_frames(int argc, char** argv);
int run_classify(int argc, char** argv);
int run_embed(int argc, char** argv);
int run_embed_text(int argc, char** argv);
int run_convert(int argc, char** argv);
int run_info(int argc, char** argv);
int run_index(int argc, char** argv);
int run_search(int argc, char** argv);
int run_serve(int argc, char** argv);
int run_watch(int argc, char** argv);

}  // namespace xclip::cli
