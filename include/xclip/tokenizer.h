// The CLIP tokenizer of an X-CLIP model folder, with the behaviour of transformers'
// CLIPTokenizerFast: same ids, padding, truncation and decoding.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "xclip/tensor.h"

namespace xclip {

enum class Padding {
  DoNotPad,   // padding=False
  Longest,    // padding=True / "longest"
  MaxLength,  // padding="max_length"
};

struct TokenizeOptions {
  Padding padding = Padding::DoNotPad;
  bool truncation = false;
  // Length for truncation and max_length padding; default: the model_max_length of the
  // folder's tokenizer_config.json (77 for CLIP).
  std::optional<int> max_length;
  bool add_special_tokens = true;
};

struct Encoding {
  std::vector<std::int64_t> input_ids;
  std::vector<std::int64_t> attention_mask;
};

class Tokenizer {
 public:
  // From a model folder: tokenizer.json when present, else vocab.json + merges.txt (with
  // tokenizer_config.json / special_tokens_map.json). Throws IoError / FormatError /
  // UnsupportedError (a tokenizer.json component this library does not implement).
  static Tokenizer from_folder(const std::string& dir);
  static Tokenizer from_tokenizer_json(const std::string& path, const std::string& tokenizer_config_path = "");
  static Tokenizer from_vocab_merges(const std::string& vocab_path, const std::string& merges_path,
                                     const std::string& tokenizer_config_path = "");

  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Text is UTF-8; invalid bytes are read as U+FFFD.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, const TokenizeOptions& options = {}) const;
  Encoding encode(const std::string& text, const TokenizeOptions& options = {}) const;
  // input_ids / attention_mask as I64 [texts, length]; InvalidArgument if the rows differ in
  // length (ask for padding).
  std::pair<Tensor, Tensor> encode_to_tensors(const std::vector<std::string>& texts, const TokenizeOptions& options) const;

  // Token strings of ids (byte-level alphabet).
  std::vector<std::string> convert_ids_to_tokens(const std::vector<std::int64_t>& ids) const;
  std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens = false) const;
  std::vector<std::string> batch_decode(const std::vector<std::vector<std::int64_t>>& ids,
                                        bool skip_special_tokens = false) const;

  std::int64_t vocab_size() const;
  std::int64_t pad_token_id() const;  // -1 when the folder defines no pad token
  int model_max_length() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace xclip
