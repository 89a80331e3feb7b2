// Tokenizer: the tokenizers-library pipeline that CLIP's tokenizer.json describes (added
// tokens, normalizer, pre-tokenizer, BPE model, post-processor, decoder) with the padding,
// truncation and decoding behaviour of transformers' CLIPTokenizerFast.
#include "xclip/tokenizer.h"

#include <sys/stat.h>

#include <algorithm>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/json.h"
#include "io/mmap_file.h"
#include "text/bpe.h"
#include "text/byte_level.h"
#include "text/pre_tokenizer.h"
#include "text/unicode.h"

namespace xclip {

using json = nlohmann::json;

namespace {

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

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

json parse_json_file(const std::string& path) { return io::parse_json(io::read_text_file(path), path); }

// "pad_token": "<|endoftext|>" or {"content": "<|endoftext|>", ...}.
std::optional<std::string> token_field(const json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  return std::nullopt;
}

bool is_strip_space(char32_t c) { return text::is_whitespace(c) || (c >= 0x1c && c <= 0x1f); }

}  // namespace

struct Tokenizer::Impl {
  std::string source;
  std::vector<AddedToken> added;
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  std::unique_ptr<text::Bpe> bpe;
  std::string end_of_word_suffix;
  std::vector<std::int64_t> prefix_ids, suffix_ids;  // post-processor
  std::vector<std::string> id_to_token;
  std::unordered_set<std::int64_t> special_ids;
  std::int64_t pad_id = -1;
  bool pad_left = false;
  int model_max_length = kClipMaxLength;

  void finish_vocabulary() {
    std::int64_t size = 0;
    for (const auto& [token, id] : bpe->vocab()) size = std::max(size, id + 1);
    for (const AddedToken& a : added) size = std::max(size, a.id + 1);
    id_to_token.assign(static_cast<std::size_t>(size), std::string());
    for (const auto& [token, id] : bpe->vocab()) id_to_token[static_cast<std::size_t>(id)] = token;
    for (const AddedToken& a : added) {
      id_to_token[static_cast<std::size_t>(a.id)] = text::encode_utf8(a.content);
      if (a.special) special_ids.insert(a.id);
    }
  }

  std::int64_t id_of(const std::string& token) const {
    for (const AddedToken& a : added)
      if (text::encode_utf8(a.content) == token) return a.id;
    return bpe->token_to_id(token);
  }

  void apply_config(const json& config) {
    if (auto pad = token_field(config, "pad_token")) {
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
    for (const NormalizerStep& step : normalizer) {
      std::u32string out;
      switch (step.kind) {
        case NormalizerStep::Form:
          s = text::normalize(s, step.form);
          continue;
        case NormalizerStep::Lowercase:
          out.reserve(s.size());
          for (char32_t c : s) text::append_lowercase(out, c);
          break;
        case NormalizerStep::ReplaceWhitespaceRuns:
          for (std::size_t i = 0; i < s.size();) {
            if (text::is_whitespace(s[i])) {
              while (i < s.size() && text::is_whitespace(s[i])) ++i;
              out += step.to;
            } else {
              out.push_back(s[i++]);
            }
          }
          break;
        case NormalizerStep::ReplaceString:
          for (std::size_t i = 0; i < s.size();) {
            if (!step.from.empty() && s.compare(i, step.from.size(), step.from) == 0) {
              out += step.to;
              i += step.from.size();
            } else {
              out.push_back(s[i++]);
            }
          }
          break;
        case NormalizerStep::Strip: {
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
      const AddedToken* match = nullptr;
      for (const AddedToken& a : added) {
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
    for (PreTokenizerStep step : pre_tokenizer) {
      next.clear();
      for (const std::u32string& w : words) {
        if (step == PreTokenizerStep::ClipSplit) text::clip_split(w, next);
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

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

namespace {

std::unordered_map<std::string, std::int64_t> parse_vocab(const json& v, const std::string& source) {
  XCLIP_CHECK(v.is_object(), FormatError) << source << ": the vocabulary must be a JSON object of token -> id";
  std::unordered_map<std::string, std::int64_t> vocab;
  std::unordered_set<std::int64_t> ids;
  for (auto it = v.begin(); it != v.end(); ++it) {
    XCLIP_CHECK(it.value().is_number_integer(), FormatError)
        << source << ": vocabulary entry '" << it.key() << "' has a non-integer id " << it.value().dump();
    const std::int64_t id = it.value().get<std::int64_t>();
    XCLIP_CHECK(id >= 0 && id < (1 << 30), FormatError) << source << ": vocabulary entry '" << it.key() << "' has id " << id;
    XCLIP_CHECK(ids.insert(id).second, FormatError) << source << ": id " << id << " is used by two tokens";
    vocab.emplace(it.key(), id);
  }
  XCLIP_CHECK(!vocab.empty(), FormatError) << source << ": the vocabulary is empty";
  return vocab;
}

std::vector<std::pair<std::string, std::string>> parse_merges_txt(const std::string& path) {
  const std::string content = io::read_text_file(path);
  std::vector<std::pair<std::string, std::string>> merges;
  std::size_t line_no = 0, pos = 0;
  while (pos <= content.size()) {
    std::size_t end = content.find('\n', pos);
    if (end == std::string::npos) end = content.size();
    std::string line = content.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const std::size_t space = line.find(' ');
    XCLIP_CHECK(space != std::string::npos && space > 0 && space + 1 < line.size() &&
                    line.find(' ', space + 1) == std::string::npos,
                FormatError)
        << path << ":" << line_no << ": expected two tokens separated by one space, got '" << line << "'";
    merges.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  return merges;
}

std::vector<std::pair<std::string, std::string>> parse_merges_json(const json& m, const std::string& source) {
  XCLIP_CHECK(m.is_array(), FormatError) << source << ": model.merges must be a list";
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(m.size());
  for (const json& entry : m) {
    if (entry.is_string()) {
      const std::string s = entry.get<std::string>();
      const std::size_t space = s.find(' ');
      XCLIP_CHECK(space != std::string::npos && s.find(' ', space + 1) == std::string::npos, FormatError)
          << source << ": merge '" << s << "' is not two tokens separated by one space";
      merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else {
      XCLIP_CHECK(entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string(), FormatError)
          << source << ": merge " << entry.dump() << " is not a pair of tokens";
      merges.emplace_back(entry[0].get<std::string>(), entry[1].get<std::string>());
    }
  }
  return merges;
}

std::string type_of(const json& node, const std::string& what, const std::string& source) {
  XCLIP_CHECK(node.is_object() && node.contains("type") && node["type"].is_string(), FormatError)
      << source << ": " << what << " has no type";
  return node["type"].get<std::string>();
}

void add_normalizer(const json& node, std::vector<NormalizerStep>& steps, const std::string& source) {
  if (node.is_null()) return;
  const std::string type = type_of(node, "normalizer", source);
  if (type == "Sequence") {
    XCLIP_CHECK(node.contains("normalizers") && node["normalizers"].is_array(), FormatError)
        << source << ": Sequence normalizer without a normalizers list";
    for (const json& n : node["normalizers"]) add_normalizer(n, steps, source);
    return;
  }
  NormalizerStep step{NormalizerStep::Form};
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    step.form = type == "NFC" ? text::NormalForm::NFC : type == "NFD" ? text::NormalForm::NFD
              : type == "NFKC" ? text::NormalForm::NFKC : text::NormalForm::NFKD;
  } else if (type == "Lowercase") {
    step.kind = NormalizerStep::Lowercase;
  } else if (type == "Replace") {
    XCLIP_CHECK(node.contains("pattern") && node["pattern"].is_object() && node.contains("content") &&
                    node["content"].is_string(),
                FormatError)
        << source << ": Replace normalizer needs pattern and content";
    step.to = text::decode_utf8_lossy(node["content"].get<std::string>());
    const json& pattern = node["pattern"];
    if (pattern.contains("Regex")) {
      XCLIP_CHECK(pattern["Regex"] == "\\s+", UnsupportedError)
          << source << ": Replace normalizer with regex " << pattern["Regex"].dump() << " is not supported (only \\s+)";
      step.kind = NormalizerStep::ReplaceWhitespaceRuns;
    } else {
      XCLIP_CHECK(pattern.contains("String") && pattern["String"].is_string(), FormatError)
          << source << ": Replace pattern must be a String or a Regex";
      step.kind = NormalizerStep::ReplaceString;
      step.from = text::decode_utf8_lossy(pattern["String"].get<std::string>());
    }
  } else if (type == "Strip") {
    step.kind = NormalizerStep::Strip;
    step.left = node.value("strip_left", true);
    step.right = node.value("strip_right", true);
  } else {
    XCLIP_FAIL(UnsupportedError) << source << ": normalizer type '" << type
                                 << "' is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Replace, Strip)";
  }
  steps.push_back(step);
}

void add_pre_tokenizer(const json& node, std::vector<PreTokenizerStep>& steps, bool& byte_level, const std::string& source) {
  const std::string type = type_of(node, "pre_tokenizer", source);
  if (type == "Sequence") {
    XCLIP_CHECK(node.contains("pretokenizers") && node["pretokenizers"].is_array(), FormatError)
        << source << ": Sequence pre_tokenizer without a pretokenizers list";
    for (const json& n : node["pretokenizers"]) add_pre_tokenizer(n, steps, byte_level, source);
  } else if (type == "Split") {
    const json& pattern = node.value("pattern", json::object());
    const bool clip = pattern.is_object() && pattern.contains("Regex") && pattern["Regex"] == text::kClipSplitPattern &&
                      node.value("behavior", "") == "Removed" && node.value("invert", false);
    XCLIP_CHECK(clip, UnsupportedError) << source << ": Split pre_tokenizer " << node.dump()
                                        << " is not supported (only CLIP's pattern, behavior Removed, invert true)";
    steps.push_back(PreTokenizerStep::ClipSplit);
  } else if (type == "ByteLevel") {
    XCLIP_CHECK(!node.value("add_prefix_space", false), UnsupportedError)
        << source << ": ByteLevel pre_tokenizer with add_prefix_space is not supported";
    if (node.value("use_regex", true)) steps.push_back(PreTokenizerStep::Gpt2Split);
    byte_level = true;
  } else {
    XCLIP_FAIL(UnsupportedError) << source << ": pre_tokenizer type '" << type
                                 << "' is not supported (supported: Sequence, Split with CLIP's pattern, ByteLevel)";
  }
}

std::int64_t special_id(const json& pair, const std::string& what, const std::string& source) {
  XCLIP_CHECK(pair.is_array() && pair.size() == 2 && pair[1].is_number_integer(), FormatError)
      << source << ": post_processor " << what << " must be [token, id]";
  return pair[1].get<std::int64_t>();
}

void set_post_processor(const json& node, Tokenizer::Impl& impl, const std::string& source) {
  if (node.is_null()) return;
  const std::string type = type_of(node, "post_processor", source);
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    impl.prefix_ids = {special_id(node.value("cls", json()), "cls", source)};
    impl.suffix_ids = {special_id(node.value("sep", json()), "sep", source)};
  } else if (type == "TemplateProcessing") {
    XCLIP_CHECK(node.contains("single") && node["single"].is_array(), FormatError) << source << ": template without 'single'";
    const json& specials = node.value("special_tokens", json::object());
    bool after_sequence = false;
    for (const json& piece : node["single"]) {
      if (piece.contains("Sequence")) {
        after_sequence = true;
        continue;
      }
      XCLIP_CHECK(piece.contains("SpecialToken") && piece["SpecialToken"].contains("id"), FormatError)
          << source << ": template piece " << piece.dump() << " is not a Sequence or a SpecialToken";
      const std::string name = piece["SpecialToken"]["id"].get<std::string>();
      XCLIP_CHECK(specials.contains(name) && specials[name].contains("ids") && specials[name]["ids"].is_array(), FormatError)
          << source << ": template special token '" << name << "' has no ids";
      for (const json& id : specials[name]["ids"]) (after_sequence ? impl.suffix_ids : impl.prefix_ids).push_back(id.get<std::int64_t>());
    }
  } else {
    XCLIP_FAIL(UnsupportedError) << source << ": post_processor type '" << type
                                 << "' is not supported (supported: RobertaProcessing, BertProcessing, TemplateProcessing)";
  }
}

json optional_config(const std::string& path) {
  if (path.empty() || !file_exists(path)) return json::object();
  return io::read_json_object(path);
}

}  // namespace

Tokenizer Tokenizer::from_tokenizer_json(const std::string& path, const std::string& tokenizer_config_path) {
  auto impl = std::make_unique<Impl>();
  impl->source = path;
  const json root = parse_json_file(path);
  XCLIP_CHECK(root.is_object(), FormatError) << path << ": must be a JSON object";
  XCLIP_CHECK(root.contains("model") && root["model"].is_object(), FormatError) << path << ": no model";
  const json& model = root["model"];
  XCLIP_CHECK(type_of(model, "model", path) == "BPE", UnsupportedError)
      << path << ": model type '" << model["type"].get<std::string>() << "' is not supported (only BPE)";
  XCLIP_CHECK(model.value("dropout", json()).is_null(), UnsupportedError) << path << ": BPE dropout is not supported";
  XCLIP_CHECK(!model.value("byte_fallback", false), UnsupportedError) << path << ": BPE byte_fallback is not supported";
  XCLIP_CHECK(model.contains("vocab") && model.contains("merges"), FormatError) << path << ": BPE model needs vocab and merges";
  impl->end_of_word_suffix = model.value("end_of_word_suffix", json()).is_string() ? model["end_of_word_suffix"].get<std::string>() : "";
  const std::string prefix =
      model.value("continuing_subword_prefix", json()).is_string() ? model["continuing_subword_prefix"].get<std::string>() : "";
  const std::string unk = model.value("unk_token", json()).is_string() ? model["unk_token"].get<std::string>() : "";
  impl->bpe = std::make_unique<text::Bpe>(parse_vocab(model["vocab"], path), parse_merges_json(model["merges"], path),
                                          impl->end_of_word_suffix, prefix, unk, path);

  for (const json& a : root.value("added_tokens", json::array())) {
    XCLIP_CHECK(a.is_object() && a.contains("id") && a["id"].is_number_integer() && a.contains("content") &&
                    a["content"].is_string(),
                FormatError)
        << path << ": malformed added token " << a.dump();
    XCLIP_CHECK(!a.value("single_word", false) && !a.value("lstrip", false) && !a.value("rstrip", false), UnsupportedError)
        << path << ": added token " << a["content"].dump() << " uses single_word/lstrip/rstrip, which is not supported";
    AddedToken token;
    token.content = text::decode_utf8_lossy(a["content"].get<std::string>());
    token.id = a["id"].get<std::int64_t>();
    XCLIP_CHECK(token.id >= 0 && token.id < (1 << 30), FormatError) << path << ": added token id " << token.id;
    token.special = a.value("special", false);
    token.normalized = a.value("normalized", false);
    impl->added.push_back(token);
  }
  add_normalizer(root.value("normalizer", json()), impl->normalizer, path);
  bool byte_level = false;
  if (!root.value("pre_tokenizer", json()).is_null()) add_pre_tokenizer(root["pre_tokenizer"], impl->pre_tokenizer, byte_level, path);
  XCLIP_CHECK(byte_level, UnsupportedError) << path << ": only byte-level BPE tokenizers (a ByteLevel pre_tokenizer) are supported";
  set_post_processor(root.value("post_processor", json()), *impl, path);
  const json& decoder = root.value("decoder", json());
  XCLIP_CHECK(decoder.is_null() || type_of(decoder, "decoder", path) == "ByteLevel", UnsupportedError)
      << path << ": decoder type '" << decoder.value("type", "") << "' is not supported (only ByteLevel)";
  impl->finish_vocabulary();
  // CLIPTokenizerFast's class default pad token, unless tokenizer.json or the config say otherwise.
  impl->pad_id = impl->id_of("<|endoftext|>");
  if (const json& padding = root.value("padding", json()); padding.is_object() && padding.contains("pad_id"))
    impl->pad_id = padding["pad_id"].get<std::int64_t>();
  impl->apply_config(optional_config(tokenizer_config_path));
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_vocab_merges(const std::string& vocab_path, const std::string& merges_path,
                                       const std::string& tokenizer_config_path) {
  auto impl = std::make_unique<Impl>();
  impl->source = vocab_path;
  const json config = optional_config(tokenizer_config_path);
  const std::string bos = token_field(config, "bos_token").value_or("<|startoftext|>");
  const std::string eos = token_field(config, "eos_token").value_or("<|endoftext|>");
  const std::string unk = token_field(config, "unk_token").value_or("<|endoftext|>");
  impl->end_of_word_suffix = "</w>";
  impl->bpe = std::make_unique<text::Bpe>(parse_vocab(parse_json_file(vocab_path), vocab_path), parse_merges_txt(merges_path),
                                          impl->end_of_word_suffix, "", unk, merges_path);
  for (const std::string& special : {bos, eos}) {
    const std::int64_t id = impl->bpe->token_to_id(special);
    XCLIP_CHECK(id >= 0, FormatError) << vocab_path << ": special token '" << special << "' is not in the vocabulary";
    impl->added.push_back({text::decode_utf8_lossy(special), id, true, false});
  }
  // CLIPTokenizer: NFC, whitespace runs to one space, lowercase; CLIP split; byte level.
  impl->normalizer = {{NormalizerStep::Form, text::NormalForm::NFC},
                      {NormalizerStep::ReplaceWhitespaceRuns, text::NormalForm::NFC, U"", U" "},
                      {NormalizerStep::Lowercase}};
  impl->pre_tokenizer = {PreTokenizerStep::ClipSplit, PreTokenizerStep::Gpt2Split};
  impl->prefix_ids = {impl->bpe->token_to_id(bos)};
  impl->suffix_ids = {impl->bpe->token_to_id(eos)};
  impl->finish_vocabulary();
  impl->pad_id = impl->bpe->token_to_id(token_field(config, "pad_token").value_or("<|endoftext|>"));
  impl->apply_config(config);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_folder(const std::string& dir) {
  struct stat st {};
  XCLIP_CHECK(::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode), IoError) << dir << ": not a folder";
  std::string config = dir + "/tokenizer_config.json";
  if (!file_exists(config)) config = dir + "/special_tokens_map.json";
  if (file_exists(dir + "/tokenizer.json")) return from_tokenizer_json(dir + "/tokenizer.json", config);
  XCLIP_CHECK(file_exists(dir + "/vocab.json") && file_exists(dir + "/merges.txt"), IoError)
      << dir << ": no tokenizer.json, nor vocab.json + merges.txt";
  return from_vocab_merges(dir + "/vocab.json", dir + "/merges.txt", config);
}

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
