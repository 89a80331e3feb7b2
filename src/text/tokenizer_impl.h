// Tokenizer::Impl, shared by the algorithm (tokenizer.cc: normalise, split, BPE, specials,
// padding, decoding) and the loading of tokenizer.json / vocab.json + merges.txt
// (tokenizer_loading.cc). Internal: the public class is xclip/tokenizer.h.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "text/bpe.h"
#include "text/byte_level.h"
#include "text/pre_tokenizer.h"
#include "text/unicode.h"
#include "xclip/tokenizer.h"

namespace xclip {

namespace text {

struct AddedToken {
  std::u32string content;
  std::int64_t id = -1;
  bool special = false;
  bool normalized = false;
};

struct NormalizerStep {
  enum Kind { Form, Lowercase, ReplaceWhitespaceRuns, ReplaceString, Strip } kind;
  text::NormalForm form = text::NormalForm::NFC;
  std::u32string from, to;
  bool left = false, right = false;
};

enum class PreTokenizerStep { ClipSplit, Gpt2Split };

constexpr int kClipMaxLength = 77;

// "pad_token": "<|endoftext|>" or {"content": "<|endoftext|>", ...}.
inline std::optional<std::string> token_field(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace text

struct Tokenizer::Impl {
  std::string source;
  std::vector<text::AddedToken> added;
  std::vector<text::NormalizerStep> normalizer;
  std::vector<text::PreTokenizerStep> pre_tokenizer;
  std::unique_ptr<text::Bpe> bpe;
  std::string end_of_word_suffix;
  std::vector<std::int64_t> prefix_ids, suffix_ids;  // post-processor
  std::vector<std::string> id_to_token;
  std::unordered_set<std::int64_t> special_ids;
  std::int64_t pad_id = -1;
  bool pad_left = false;
  int model_max_length = text::kClipMaxLength;

  void finish_vocabulary() {
    std::int64_t size = 0;
    for (const auto& [token, id] : bpe->vocab()) size = std::max(size, id + 1);
    for (const text::AddedToken& a : added) size = std::max(size, a.id + 1);
    id_to_token.assign(static_cast<std::size_t>(size), std::string());
    for (const auto& [token, id] : bpe->vocab()) id_to_token[static_cast<std::size_t>(id)] = token;
    for (const text::AddedToken& a : added) {
      id_to_token[static_cast<std::size_t>(a.id)] = text::encode_utf8(a.content);
      if (a.special) special_ids.insert(a.id);
    }
  }

  std::int64_t id_of(const std::string& token) const {
    for (const text::AddedToken& a : added)
      if (text::encode_utf8(a.content) == token) return a.id;
    return bpe->token_to_id(token);
  }

  void apply_config(const nlohmann::json& config) {
    if (auto pad = text::token_field(config, "pad_token")) {
      pad_id = id_of(*pad);
      XCLIP_CHECK(pad_id >= 0, FormatError) << source << ": pad_token '" << *pad << "' is not in the vocabulary";
    }
    if (auto it = config.find("model_max_length"); it != config.end() && it->is_number()) {
      const double v = it->get<double>();
      // transformers writes 1e30 for "no limit"; keep CLIP's 77 rather than an absurd pad length.
      if (v >= 1 && v < 1e9) model_max_length = static_cast<int>(v);
    }
    if (auto it = config.find("padding_side"); it != config.end() && it->is_string()) {
      const std::string side = it->get<std::string>();
      XCLIP_CHECK(side == "right" || side == "left", FormatError) << source << ": padding_side '" << side << "' is not left or right";
      pad_left = side == "left";
    }
  }

  std::u32string normalize(std::u32string s) const {
    for (const text::NormalizerStep& step : normalizer) {
      std::u32string out;
      switch (step.kind) {
        case text::NormalizerStep::Form:
          s = text::normalize(s, step.form);
          continue;
        case text::NormalizerStep::Lowercase:
          out.reserve(s.size());
          for (char32_t c : s) text::append_lowercase(out, c);
          break;
        case text::NormalizerStep::ReplaceWhitespaceRuns:
          for (std::size_t i = 0; i < s.size();) {
            if (text::is_whitespace(s[i])) {
              while (i < s.size() && text::is_whitespace(s[i])) ++i;
              out += step.to;
            } else {
              out.push_back(s[i++]);
            }
          }
          break;
        case text::NormalizerStep::ReplaceString:
          for (std::size_t i = 0; i < s.size();) {
            if (!step.from.empty() && s.compare(i, step.from.size(), step.from) == 0) {
              out += step.to;
              i += step.from.size();
            } else {
              out.push_back(s[i++]);
            }
          }
          break;
        case text::NormalizerStep::Strip: {
          std::size_t b = 0, e = s.size();
          if (step.left)
            while (b < e && text::is_whitespace(s[b])) ++b;
          if (step.right)
            while (e > b && text::is_whitespace(s[e - 1])) --e;
          out = s.substr(b, e - b);
          break;
        }
      }
      s.swap(out);
    }
    return s;
  }

  // Splits around added tokens of the given kind; text pieces go to on_text, tokens to ids.
  template <class OnText>
  void split_added(const std::u32string& s, bool normalized, std::vector<std::int64_t>& ids, OnText on_text) const {
    std::size_t start = 0, pos = 0;
    while (pos < s.size()) {
      const text::AddedToken* match = nullptr;
      for (const text::AddedToken& a : added) {
        if (a.normalized != normalized || a.content.empty()) continue;
        if (s.compare(pos, a.content.size(), a.content) == 0 && (!match || a.content.size() > match->content.size()))
          match = &a;
      }
      if (!match) {
        ++pos;
        continue;
      }
      if (pos > start) on_text(s.substr(start, pos - start));
      ids.push_back(match->id);
      pos += match->content.size();
      start = pos;
    }
    if (start < s.size()) on_text(s.substr(start));
  }

  void encode_normalized_piece(const std::u32string& piece, std::vector<std::int64_t>& ids) const {
    std::vector<std::u32string> words{piece}, next;
    for (text::PreTokenizerStep step : pre_tokenizer) {
      next.clear();
      for (const std::u32string& w : words) {
        if (step == text::PreTokenizerStep::ClipSplit) text::clip_split(w, next);
        else text::gpt2_split(w, next);
      }
      words.swap(next);
    }
    for (const std::u32string& w : words) bpe->encode_word(text::bytes_to_alphabet(text::encode_utf8(w)), ids);
  }

  std::vector<std::int64_t> encode_content(const std::string& utf8) const {
    std::vector<std::int64_t> ids;
    split_added(text::decode_utf8_lossy(utf8), false, ids, [&](const std::u32string& raw) {
      split_added(normalize(raw), true, ids, [&](const std::u32string& piece) { encode_normalized_piece(piece, ids); });
    });
    return ids;
  }
};

}  // namespace xclip
