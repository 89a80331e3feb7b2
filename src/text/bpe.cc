#include "text/bpe.h"

#include <limits>

#include "core/check.h"

namespace xclip::text {

namespace {

constexpr std::size_t kMaxCacheEntries = 1 << 16;

std::uint64_t pair_key(std::int64_t a, std::int64_t b) {
  return (static_cast<std::uint64_t>(a) << 32) | static_cast<std::uint32_t>(b);
}

// Splits UTF-8 into its characters (input is valid UTF-8: it comes from our own encoder).
std::vector<std::string> utf8_chars(const std::string& word) {
  std::vector<std::string> chars;
  for (std::size_t i = 0; i < word.size();) {
    const unsigned char b = static_cast<unsigned char>(word[i]);
    const std::size_t len = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    chars.push_back(word.substr(i, len));
    i += len;
  }
  return chars;
}

}  // namespace

Bpe::Bpe(std::unordered_map<std::string, std::int64_t> vocab, const std::vector<std::pair<std::string, std::string>>& merges,
         std::string end_of_word_suffix, std::string continuing_subword_prefix, std::string unk_token,
         const std::string& source)
    : vocab_(std::move(vocab)),
      end_of_word_suffix_(std::move(end_of_word_suffix)),
      continuing_subword_prefix_(std::move(continuing_subword_prefix)) {
  for (const auto& [token, id] : vocab_) {
    XCLIP_CHECK(id >= 0 && id < std::numeric_limits<std::int32_t>::max(), FormatError)
        << source << ": token '" << token << "' has id " << id << " outside [0, 2^31)";
  }
  merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const std::int64_t ia = token_to_id(a), ib = token_to_id(b);
    // Merges of later subwords carry the continuing prefix on the right part.
    const std::string merged = a + (continuing_subword_prefix_.empty() ? b : b.substr(std::min(b.size(), continuing_subword_prefix_.size())));
    const std::int64_t im = token_to_id(merged);
    XCLIP_CHECK(ia >= 0 && ib >= 0 && im >= 0, FormatError)
        << source << ": merge " << rank + 1 << " '" << a << " " << b << "' uses a token that is not in the vocabulary";
    merges_.emplace(pair_key(ia, ib), std::make_pair(static_cast<std::int32_t>(rank), im));
  }
  if (!unk_token.empty()) unk_id_ = token_to_id(unk_token);
}

std::int64_t Bpe::token_to_id(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

std::vector<std::int64_t> Bpe::merge_word(const std::string& word) const {
  const std::vector<std::string> chars = utf8_chars(word);
  std::vector<std::int64_t> symbols;
  symbols.reserve(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) {
    std::string piece = (i > 0 ? continuing_subword_prefix_ : "") + chars[i];
    if (i + 1 == chars.size()) piece += end_of_word_suffix_;
    std::int64_t id = token_to_id(piece);
    if (id < 0) id = unk_id_;
    if (id >= 0) symbols.push_back(id);  // unknown without an unk token: dropped, as tokenizers does
  }
  // Repeatedly merge the adjacent pair of lowest rank, all its occurrences left to right.
  while (symbols.size() > 1) {
    std::int32_t best_rank = std::numeric_limits<std::int32_t>::max();
    std::uint64_t best_key = 0;
    std::int64_t best_id = -1;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it = merges_.find(pair_key(symbols[i], symbols[i + 1]));
      if (it != merges_.end() && it->second.first < best_rank) {
        best_rank = it->second.first;
        best_key = it->first;
        best_id = it->second.second;
      }
    }
    if (best_id < 0) break;
    std::vector<std::int64_t> merged;
    merged.reserve(symbols.size());
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && pair_key(symbols[i], symbols[i + 1]) == best_key) {
        merged.push_back(best_id);
        ++i;
      } else {
        merged.push_back(symbols[i]);
      }
    }
    symbols.swap(merged);
  }
  return symbols;
}

void Bpe::encode_word(const std::string& word, std::vector<std::int64_t>& ids) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<std::int64_t> result = merge_word(word);
  ids.insert(ids.end(), result.begin(), result.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(word, std::move(result));
}

}  // namespace xclip::text
