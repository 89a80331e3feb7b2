#include "text/pre_tokenizer.h"

#include "text/unicode.h"

namespace xclip::text {

const char* const kClipSplitPattern =
    "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

namespace {

bool starts_with(const std::u32string& s, std::size_t pos, std::u32string_view prefix) {
  return s.compare(pos, prefix.size(), prefix) == 0;
}

// Length of the contraction ('s 't 're 've 'm 'll 'd) at pos, or 0.
std::size_t contraction_at(const std::u32string& s, std::size_t pos) {
  if (s[pos] != U'\'') return 0;
  for (std::u32string_view c : {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"})
    if (starts_with(s, pos, c)) return c.size();
  return 0;
}

bool is_other(char32_t c) { return !is_whitespace(c) && !is_letter(c) && !is_number(c); }

template <class Pred>
std::size_t run_end(const std::u32string& s, std::size_t pos, Pred pred) {
  while (pos < s.size() && pred(s[pos])) ++pos;
  return pos;
}

}  // namespace

void clip_split(const std::u32string& s, std::vector<std::u32string>& out) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end = pos;
    if (starts_with(s, pos, U"<|startoftext|>")) {
      end = pos + 15;
    } else if (starts_with(s, pos, U"<|endoftext|>")) {
      end = pos + 13;
    } else if (std::size_t c = contraction_at(s, pos)) {
      end = pos + c;
    } else if (is_letter(s[pos])) {
      end = run_end(s, pos, is_letter);
    } else if (is_number(s[pos])) {
      end = pos + 1;
    } else if (is_whitespace(s[pos])) {
      ++pos;  // not matched by the pattern: removed
      continue;
    } else {
      end = run_end(s, pos, is_other);
    }
    out.emplace_back(s, pos, end - pos);
    pos = end;
  }
}

void gpt2_split(const std::u32string& s, std::vector<std::u32string>& out) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t end;
    if (std::size_t c = contraction_at(s, pos)) {
      end = pos + c;
    } else {
      const std::size_t body = (s[pos] == U' ' && pos + 1 < s.size()) ? pos + 1 : pos;
      const char32_t c0 = s[body];
      if (is_letter(c0)) {
        end = run_end(s, body, is_letter);
      } else if (is_number(c0)) {
        end = run_end(s, body, is_number);
      } else if (is_other(c0)) {
        end = run_end(s, body, is_other);
      } else {
        // \s+(?!\S) leaves the last space of a run for the word that follows; \s+ takes the rest.
        end = run_end(s, pos, is_whitespace);
        if (end < s.size() && end - pos > 1) --end;
      }
    }
    out.emplace_back(s, pos, end - pos);
    pos = end;
  }
}

}  // namespace xclip::text
