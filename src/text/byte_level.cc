#include "text/byte_level.h"

#include <unordered_map>

#include "text/unicode.h"

namespace xclip::text {

const std::array<char32_t, 256>& byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff); };
    int extra = 0;
    for (int b = 0; b < 256; ++b) t[b] = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
    return t;
  }();
  return table;
}

int unicode_to_byte(char32_t c) {
  static const std::unordered_map<char32_t, int> inverse = [] {
    std::unordered_map<char32_t, int> m;
    const auto& t = byte_to_unicode();
    for (int b = 0; b < 256; ++b) m[t[b]] = b;
    return m;
  }();
  auto it = inverse.find(c);
  return it == inverse.end() ? -1 : it->second;
}

std::string bytes_to_alphabet(std::string_view text) {
  const auto& t = byte_to_unicode();
  std::string out;
  out.reserve(text.size() * 2);
  for (unsigned char b : text) append_utf8(out, t[b]);
  return out;
}

}  // namespace xclip::text
