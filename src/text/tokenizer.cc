// Tokenizer: the tokenizers-library pipeline that CLIP's tokenizer.json describes (added
// tokens, normalizer, pre-tokenizer, BPE model, post-processor, decoder) with the padding,
// truncation and decoding behaviour of transformers' CLIPTokenizerFast.
#include "text/tokenizer_impl.h"

namespace xclip {

using json = nlohmann::json;

namespace {

// What Python's str.strip() removes from decoded text: whitespace and the separators 0x1c-0x1f.
bool is_strip_space(char32_t c) { return text::is_whitespace(c) || (c >= 0x1c && c <= 0x1f); }

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string>& texts, const TokenizeOptions& o) const {
  const Impl& t = *impl_;
  const int max_length = o.max_length.value_or(t.model_max_length);
  XCLIP_CHECK(max_length > 0, InvalidArgument) << "max_length must be positive, got " << max_length;
  const std::size_t specials = o.add_special_tokens ? t.prefix_ids.size() + t.suffix_ids.size() : 0;
  XCLIP_CHECK(!o.truncation || static_cast<std::size_t>(max_length) >= specials, InvalidArgument)
      << "max_length " << max_length << " leaves no room for the " << specials << " special tokens";
  std::vector<Encoding> out(texts.size());
  std::size_t longest = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    std::vector<std::int64_t> content = t.encode_content(texts[i]);
    if (o.truncation && content.size() + specials > static_cast<std::size_t>(max_length)) content.resize(max_length - specials);
    Encoding& e = out[i];
    if (o.add_special_tokens) e.input_ids = t.prefix_ids;
    e.input_ids.insert(e.input_ids.end(), content.begin(), content.end());
    if (o.add_special_tokens) e.input_ids.insert(e.input_ids.end(), t.suffix_ids.begin(), t.suffix_ids.end());
    e.attention_mask.assign(e.input_ids.size(), 1);
    longest = std::max(longest, e.input_ids.size());
  }
  if (o.padding == Padding::DoNotPad) return out;
  const std::size_t target = o.padding == Padding::Longest ? longest : std::max<std::size_t>(max_length, 0);
  XCLIP_CHECK(t.pad_id >= 0, InvalidArgument) << t.source << ": padding requested but the tokenizer has no pad token";
  for (Encoding& e : out) {
    if (e.input_ids.size() >= target) continue;
    const std::size_t n = target - e.input_ids.size();
    const auto ids_at = t.pad_left ? e.input_ids.begin() : e.input_ids.end();
    e.input_ids.insert(ids_at, n, t.pad_id);
    const auto mask_at = t.pad_left ? e.attention_mask.begin() : e.attention_mask.end();
    e.attention_mask.insert(mask_at, n, 0);
  }
  return out;
}

Encoding Tokenizer::encode(const std::string& text, const TokenizeOptions& options) const {
  return encode_batch({text}, options).front();
}

std::pair<Tensor, Tensor> Tokenizer::encode_to_tensors(const std::vector<std::string>& texts,
                                                       const TokenizeOptions& options) const {
  XCLIP_CHECK(!texts.empty(), InvalidArgument) << "no texts to tokenize";
  const std::vector<Encoding> enc = encode_batch(texts, options);
  const std::size_t len = enc.front().input_ids.size();
  for (std::size_t i = 0; i < enc.size(); ++i) {
    XCLIP_CHECK(enc[i].input_ids.size() == len, InvalidArgument)
        << "texts tokenize to different lengths (" << len << " and " << enc[i].input_ids.size() << " for text " << i
        << "); ask for padding";
  }
  const auto n = static_cast<std::int64_t>(enc.size()), l = static_cast<std::int64_t>(len);
  Tensor ids = Tensor::empty(DType::I64, {n, l}), mask = Tensor::empty(DType::I64, {n, l});
  for (std::int64_t i = 0; i < n; ++i) {
    std::copy(enc[i].input_ids.begin(), enc[i].input_ids.end(), ids.mutable_data<std::int64_t>() + i * l);
    std::copy(enc[i].attention_mask.begin(), enc[i].attention_mask.end(), mask.mutable_data<std::int64_t>() + i * l);
  }
  return {ids, mask};
}

std::vector<std::string> Tokenizer::convert_ids_to_tokens(const std::vector<std::int64_t>& ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (std::int64_t id : ids) {
    XCLIP_CHECK(id >= 0 && id < vocab_size() && !impl_->id_to_token[id].empty(), InvalidArgument)
        << "token id " << id << " is not in the vocabulary (size " << vocab_size() << ")";
    tokens.push_back(impl_->id_to_token[static_cast<std::size_t>(id)]);
  }
  return tokens;
}

std::string Tokenizer::decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const {
  std::string bytes;
  const std::vector<std::string> tokens = convert_ids_to_tokens(ids);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (skip_special_tokens && impl_->special_ids.count(ids[i])) continue;
    // ByteLevel decoding: alphabet characters back to bytes; a token with a character
    // outside the alphabet is taken as its own UTF-8.
    std::string decoded;
    bool in_alphabet = true;
    for (char32_t c : text::decode_utf8_lossy(tokens[i])) {
      const int b = text::unicode_to_byte(c);
      if (b < 0) {
        in_alphabet = false;
        break;
      }
      decoded.push_back(static_cast<char>(b));
    }
    bytes += in_alphabet ? decoded : tokens[i];
  }
  // transformers' CLIP decode: end-of-word markers become spaces, then strip.
  std::u32string s = text::decode_utf8_lossy(bytes);
  if (!impl_->end_of_word_suffix.empty()) {
    const std::u32string suffix = text::decode_utf8_lossy(impl_->end_of_word_suffix);
    std::u32string replaced;
    for (std::size_t i = 0; i < s.size();) {
      if (s.compare(i, suffix.size(), suffix) == 0) {
        replaced.push_back(U' ');
        i += suffix.size();
      } else {
        replaced.push_back(s[i++]);
      }
    }
    s.swap(replaced);
  }
  std::size_t b = 0, e = s.size();
  while (b < e && is_strip_space(s[b])) ++b;
  while (e > b && is_strip_space(s[e - 1])) --e;
  return text::encode_utf8(std::u32string_view(s).substr(b, e - b));
}

std::vector<std::string> Tokenizer::batch_decode(const std::vector<std::vector<std::int64_t>>& ids,
                                                 bool skip_special_tokens) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const auto& row : ids) out.push_back(decode(row, skip_special_tokens));
  return out;
}

std::int64_t Tokenizer::vocab_size() const { return static_cast<std::int64_t>(impl_->id_to_token.size()); }
std::int64_t Tokenizer::pad_token_id() const { return impl_->pad_id; }
int Tokenizer::model_max_length() const { return impl_->model_max_length; }

}  // namespace xclip

