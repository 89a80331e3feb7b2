// Loading a tokenizer: tokenizer.json (the tokenizers library's pipeline description), or
// vocab.json + merges.txt as CLIPTokenizer reads them, with tokenizer_config.json on top.
// Every unsupported step is refused by name.
#include <sys/stat.h>

#include "io/json.h"
#include "io/mmap_file.h"
#include "text/tokenizer_impl.h"

namespace xclip {

using json = nlohmann::json;

namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

json parse_json_file(const std::string& path) { return io::parse_json(io::read_text_file(path), path); }

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

void add_normalizer(const json& node, std::vector<text::NormalizerStep>& steps, const std::string& source) {
  if (node.is_null()) return;
  const std::string type = type_of(node, "normalizer", source);
  if (type == "Sequence") {
    XCLIP_CHECK(node.contains("normalizers") && node["normalizers"].is_array(), FormatError)
        << source << ": Sequence normalizer without a normalizers list";
    for (const json& n : node["normalizers"]) add_normalizer(n, steps, source);
    return;
  }
  text::NormalizerStep step{text::NormalizerStep::Form};
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    step.form = type == "NFC" ? text::NormalForm::NFC : type == "NFD" ? text::NormalForm::NFD
              : type == "NFKC" ? text::NormalForm::NFKC : text::NormalForm::NFKD;
  } else if (type == "Lowercase") {
    step.kind = text::NormalizerStep::Lowercase;
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
      step.kind = text::NormalizerStep::ReplaceWhitespaceRuns;
    } else {
      XCLIP_CHECK(pattern.contains("String") && pattern["String"].is_string(), FormatError)
          << source << ": Replace pattern must be a String or a Regex";
      step.kind = text::NormalizerStep::ReplaceString;
      step.from = text::decode_utf8_lossy(pattern["String"].get<std::string>());
    }
  } else if (type == "Strip") {
    step.kind = text::NormalizerStep::Strip;
    step.left = node.value("strip_left", true);
    step.right = node.value("strip_right", true);
  } else {
    XCLIP_FAIL(UnsupportedError) << source << ": normalizer type '" << type
                                 << "' is not supported (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Replace, Strip)";
  }
  steps.push_back(step);
}

void add_pre_tokenizer(const json& node, std::vector<text::PreTokenizerStep>& steps, bool& byte_level, const std::string& source) {
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
    steps.push_back(text::PreTokenizerStep::ClipSplit);
  } else if (type == "ByteLevel") {
    XCLIP_CHECK(!node.value("add_prefix_space", false), UnsupportedError)
        << source << ": ByteLevel pre_tokenizer with add_prefix_space is not supported";
    if (node.value("use_regex", true)) steps.push_back(text::PreTokenizerStep::Gpt2Split);
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
    text::AddedToken token;
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
  const std::string bos = text::token_field(config, "bos_token").value_or("<|startoftext|>");
  const std::string eos = text::token_field(config, "eos_token").value_or("<|endoftext|>");
  const std::string unk = text::token_field(config, "unk_token").value_or("<|endoftext|>");
  impl->end_of_word_suffix = "</w>";
  impl->bpe = std::make_unique<text::Bpe>(parse_vocab(parse_json_file(vocab_path), vocab_path), parse_merges_txt(merges_path),
                                          impl->end_of_word_suffix, "", unk, merges_path);
  for (const std::string& special : {bos, eos}) {
    const std::int64_t id = impl->bpe->token_to_id(special);
    XCLIP_CHECK(id >= 0, FormatError) << vocab_path << ": special token '" << special << "' is not in the vocabulary";
    impl->added.push_back({text::decode_utf8_lossy(special), id, true, false});
  }
  // CLIPTokenizer: NFC, whitespace runs to one space, lowercase; CLIP split; byte level.
  impl->normalizer = {{text::NormalizerStep::Form, text::NormalForm::NFC},
                      {text::NormalizerStep::ReplaceWhitespaceRuns, text::NormalForm::NFC, U"", U" "},
                      {text::NormalizerStep::Lowercase}};
  impl->pre_tokenizer = {text::PreTokenizerStep::ClipSplit, text::PreTokenizerStep::Gpt2Split};
  impl->prefix_ids = {impl->bpe->token_to_id(bos)};
  impl->suffix_ids = {impl->bpe->token_to_id(eos)};
  impl->finish_vocabulary();
  impl->pad_id = impl->bpe->token_to_id(text::token_field(config, "pad_token").value_or("<|endoftext|>"));
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

}  // namespace xclip
