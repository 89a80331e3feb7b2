// What the CLI reads from and writes to files and terminals: text lists, embeddings as
// .safetensors / .npy / .jsonl, CSV fields, a progress line.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xclip/index.h"
#include "xclip/pipeline.h"
#include "xclip/tensor.h"

namespace xclip::cli {

// Non-empty lines of a text file (CR LF tolerated).
std::vector<std::string> read_lines(const std::string& path);
// A JSON file, with the file named in the error.
nlohmann::json parse_json_file(const std::string& path);
// "a, b,c" -> {"a", "b", "c"}
std::vector<std::string> split_commas(const std::string& s);
std::string csv_field(const std::string& s);
bool is_embedding_file(const std::string& path);
// embeddings [N, D] for `names` (video paths or texts) in the format the extension of
// `path` picks; `field` is "video" or "text".
void write_embeddings(const std::string& path, const Tensor& embeddings, const std::vector<std::string>& names,
                      const std::string& field);
// [N, D] rows -> tensor
Tensor stack_rows(const std::vector<std::vector<float>>& rows);

// "[12/32] 3.1 videos/s, ETA 6 s" on stderr when it is a terminal and not `quiet`.
class ProgressLine {
 public:
  explicit ProgressLine(bool quiet);
  void update(const WorkflowProgress& p);
  // "[12/32 files] 840 windows, 5.2 windows/s, ETA 40 s"
  void update_index(const IndexProgress& p);
  // Ends the line so that a message can be printed (no-op when nothing is shown).
  void interrupt();

 private:
  bool enabled_;
  bool shown_ = false;
};

}  // namespace xclip::cli
