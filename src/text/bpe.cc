#include "text/bpe.h"

#include <functional>
#include <limits>
#include <queue>

#include "core/check.h"

namespace xclip::text {

namespace {

// The word cache is bounded in bytes, not only in entries: a server fed 1 MB one-word texts
// would otherwise keep every one (with its ids) for ever. Words longer than kMaxCachedWord
// are rare in real text and not worth keeping at all.
constexpr std::size_t kMaxCacheBytes = 16u << 20;
constexpr std::size_t kMaxCachedWord = 256;

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
  // Merge the adjacent pair of lowest rank (leftmost first among equal ranks) until none is
  // left, with a heap of candidate pairs over a linked list of symbols: O(n log n), so a
  // hostile 1 MB "word" cannot stall the tokenizer.
  struct Symbol {
    std::int64_t id;
    std::int32_t prev, next;
  };
  struct Candidate {
    std::int32_t rank, left;
    std::int64_t left_id, right_id, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  const auto n = static_cast<std::int32_t>(symbols.size());
  std::vector<Symbol> list(symbols.size());
  for (std::int32_t i = 0; i < n; ++i) list[i] = {symbols[i], i - 1, i + 1 < n ? i + 1 : -1};
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](std::int32_t left) {
    if (left < 0 || list[left].next < 0) return;
    const Symbol& a = list[left];
    const Symbol& b = list[a.next];
    auto it = merges_.find(pair_key(a.id, b.id));
    if (it != merges_.end()) heap.push({it->second.first, left, a.id, b.id, it->second.second});
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    Symbol& a = list[c.left];
    // Stale entries: the left symbol was merged away or changed, or its neighbour did.
    if (a.id != c.left_id || a.next < 0 || list[a.next].id != c.right_id) continue;
    const std::int32_t right = a.next;
    a.id = c.merged;
    a.next = list[right].next;
    if (a.next >= 0) list[a.next].prev = c.left;
    list[right].id = -1;  // dead
    push(a.prev);
    push(c.left);
  }
  std::vector<std::int64_t> merged;
  for (std::int32_t i = n > 0 ? 0 : -1; i >= 0; i = list[i].next) merged.push_back(list[i].id);
  symbols.swap(merged);
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
  if (word.size() > kMaxCachedWord) return;
  // Key, ids and the node's bookkeeping.
  const std::size_t bytes = word.size() + result.size() * sizeof(std::int64_t) + 64;
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_bytes_ + bytes > kMaxCacheBytes) {
    cache_.clear();
    cache_bytes_ = 0;
  }
  if (cache_.emplace(word, std::move(result)).second) cache_bytes_ += bytes;
}

}  // namespace xclip::text
