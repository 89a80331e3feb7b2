// Byte-pair encoding over the byte-level alphabet with merge ranks (the `BPE` model of the
// tokenizers library, as CLIP configures it: end_of_word_suffix "</w>", no dropout).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace xclip::text {

class Bpe {
 public:
  // Throws FormatError when a merge names a token outside the vocabulary. `source` names the
  // files in messages.
  Bpe(std::unordered_map<std::string, std::int64_t> vocab, const std::vector<std::pair<std::string, std::string>>& merges,
      std::string end_of_word_suffix, std::string continuing_subword_prefix, std::string unk_token,
      const std::string& source);

  // Appends the ids of one pre-token (UTF-8 of byte-level characters).
  void encode_word(const std::string& word, std::vector<std::int64_t>& ids) const;

  const std::unordered_map<std::string, std::int64_t>& vocab() const { return vocab_; }
  std::int64_t token_to_id(const std::string& token) const;  // -1 if absent
  // What the word cache holds now, in bytes (bounded; for tests and the server's metrics).
  std::size_t cache_bytes() const {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    return cache_bytes_;
  }

 private:
  std::vector<std::int64_t> merge_word(const std::string& word) const;

  std::unordered_map<std::string, std::int64_t> vocab_;
  // (left id, right id) -> (rank, merged id)
  std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int64_t>> merges_;
  std::string end_of_word_suffix_;
  std::string continuing_subword_prefix_;
  std::int64_t unk_id_ = -1;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<std::int64_t>> cache_;
  mutable std::size_t cache_bytes_ = 0;
};

}  // namespace xclip::text
