// Unicode helpers for the tokenizer, on top of utf8proc: lossy UTF-8 decoding, normal forms,
// full lowercase, and the character classes used by the pre-tokenizer regexes.
#pragma once

#include <string>
#include <string_view>

namespace xclip::text {

// Decodes UTF-8; each maximal ill-formed subsequence becomes one U+FFFD (the Unicode
// recommendation, as Rust's from_utf8_lossy and Python's errors="replace").
std::u32string decode_utf8_lossy(std::string_view bytes);
// Offset of the first byte that is not part of well-formed UTF-8; npos when all of it is.
std::size_t invalid_utf8_offset(std::string_view bytes);
void append_utf8(std::string& out, char32_t c);
std::string encode_utf8(std::u32string_view s);

enum class NormalForm { NFC, NFD, NFKC, NFKD };
std::u32string normalize(const std::u32string& s, NormalForm form);

// Full per-character lowercase (Rust's char::to_lowercase): simple mappings plus the one
// unconditional multi-character mapping, U+0130 -> "i\u0307". No final-sigma context.
void append_lowercase(std::u32string& out, char32_t c);

bool is_letter(char32_t c);      // \p{L}
bool is_number(char32_t c);      // \p{N}
bool is_whitespace(char32_t c);  // \s: the White_Space property

}  // namespace xclip::text
