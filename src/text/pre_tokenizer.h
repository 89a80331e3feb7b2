// The two splitting patterns of CLIP's tokenizer.json, implemented as scanners (they are
// fixed patterns, so no regex engine is needed):
//   CLIP:  <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//          (Split, behavior Removed, invert: the matches are kept, the rest dropped)
//   GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//          (ByteLevel with use_regex)
#pragma once

#include <string>
#include <vector>

namespace xclip::text {

// The exact pattern string tokenizer.json carries for the CLIP split.
extern const char* const kClipSplitPattern;

void clip_split(const std::u32string& text, std::vector<std::u32string>& out);
void gpt2_split(const std::u32string& text, std::vector<std::u32string>& out);

}  // namespace xclip::text
