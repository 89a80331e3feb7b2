// GPT-2 / CLIP byte-level alphabet: every byte maps to a printable character, so that BPE
// works on text of any script without unknown symbols.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace xclip::text {

// Byte -> character: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100 + k in byte order.
const std::array<char32_t, 256>& byte_to_unicode();
// Inverse of byte_to_unicode; -1 for characters outside the alphabet.
int unicode_to_byte(char32_t c);

// UTF-8 bytes of `text` mapped to the alphabet, returned as UTF-8.
std::string bytes_to_alphabet(std::string_view text);

}  // namespace xclip::text
