// The CLIP tokenizer against transformers: every case of golden_tokenizer.safetensors (4 text
// lists x 4 padding/truncation modes, every single string with its tokens and decodes), for
// each way a folder can describe the tokenizer; plus malformed files and hard inputs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "support/golden.h"
#include "support/test_paths.h"
#include "text/bpe.h"
#include "xclip/error.h"
#include "xclip/tokenizer.h"

namespace xclip::test {
namespace {

using json = nlohmann::json;

std::vector<std::string> text_list(const std::string& name) {
  return golden_index()["text_lists"][name].get<std::vector<std::string>>();
}

std::string fixtures() { return shared_dir() + "/fixtures/tokenizer"; }

// The three ways to build the same tokenizer.
Tokenizer make_tokenizer(const std::string& kind) {
  if (kind == "tokenizer_json") return Tokenizer::from_tokenizer_json(fixtures() + "/tokenizer.json");
  if (kind == "tokenizer_json_with_config")
    return Tokenizer::from_tokenizer_json(fixtures() + "/tokenizer.json", models_dir() + "/tiny/tokenizer_config.json");
  if (kind == "vocab_merges_folder") return Tokenizer::from_folder(models_dir() + "/tiny");
  throw std::runtime_error("unknown tokenizer kind " + kind);
}

TokenizeOptions options_for(const json& kwargs) {
  TokenizeOptions o;
  if (kwargs.contains("padding")) {
    const json& p = kwargs["padding"];
    o.padding = p.is_boolean() ? (p.get<bool>() ? Padding::Longest : Padding::DoNotPad)
                               : (p == "max_length" ? Padding::MaxLength : Padding::Longest);
  }
  o.truncation = kwargs.value("truncation", false);
  if (kwargs.contains("max_length")) o.max_length = kwargs["max_length"].get<int>();
  return o;
}

std::vector<std::int64_t> row(const io::SafetensorsFile& f, const std::string& prefix, const std::string& name,
                              std::size_t i, std::size_t rows) {
  if (f.contains(prefix + "/enc/" + name)) {
    const Tensor t = f.get(prefix + "/enc/" + name);
    EXPECT_EQ(static_cast<std::size_t>(t.dim(0)), rows);
    const std::int64_t* p = t.data<std::int64_t>() + i * t.dim(1);
    return {p, p + t.dim(1)};
  }
  const Tensor t = f.get(prefix + "/enc/" + name + "/" + std::to_string(i));
  const std::int64_t* p = t.data<std::int64_t>();
  return {p, p + t.numel()};
}

class TokenizerGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerGoldenTest, BatchModesMatch) {
  const Tokenizer tok = make_tokenizer(GetParam());
  const io::SafetensorsFile f = io::SafetensorsFile::open(golden_dir() + "/golden_tokenizer.safetensors");
  int cases = 0;
  for (const json& c : golden_index()["cases"]) {
    const std::string id = c["id"];
    if (c["kind"] != "tokenizer" || id.rfind("tok/single/", 0) == 0) continue;
    const std::vector<std::string> texts = text_list(c["options"]["texts"]);
    const std::vector<Encoding> enc = tok.encode_batch(texts, options_for(c["options"]["call_kwargs"]));
    ASSERT_EQ(enc.size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      EXPECT_EQ(enc[i].input_ids, row(f, id, "input_ids", i, texts.size())) << id << " text " << i << ": " << texts[i];
      EXPECT_EQ(enc[i].attention_mask, row(f, id, "attention_mask", i, texts.size())) << id << " text " << i;
    }
    ++cases;
  }
  EXPECT_EQ(cases, 16);
}

TEST_P(TokenizerGoldenTest, SingleStringsTokensAndDecodes) {
  const Tokenizer tok = make_tokenizer(GetParam());
  const io::SafetensorsFile f = io::SafetensorsFile::open(golden_dir() + "/golden_tokenizer.safetensors");
  int cases = 0;
  for (const json& c : golden_index()["cases"]) {
    const std::string id = c["id"];
    if (id.rfind("tok/single/", 0) != 0) continue;
    const std::string text = c["options"]["text"];
    const Encoding e = tok.encode(text);
    const Tensor ref = f.get(c["outputs"].begin().value()["key"].get<std::string>());
    EXPECT_EQ(e.input_ids, std::vector<std::int64_t>(ref.data<std::int64_t>(), ref.data<std::int64_t>() + ref.numel()))
        << id << ": " << text;
    EXPECT_EQ(e.input_ids, c["input_ids"].get<std::vector<std::int64_t>>()) << id;
    TokenizeOptions trunc;
    trunc.truncation = true;
    trunc.max_length = 77;
    EXPECT_EQ(tok.encode(text, trunc).input_ids, c["input_ids_trunc77"].get<std::vector<std::int64_t>>()) << id;
    EXPECT_EQ(tok.convert_ids_to_tokens(e.input_ids), c["tokens"].get<std::vector<std::string>>()) << id;
    EXPECT_EQ(tok.decode(e.input_ids), c["decode"].get<std::string>()) << id;
    EXPECT_EQ(tok.decode(e.input_ids, true), c["decode_skip_special"].get<std::string>()) << id;
    ++cases;
  }
  EXPECT_GE(cases, 20);
}

INSTANTIATE_TEST_SUITE_P(Sources, TokenizerGoldenTest,
                         ::testing::Values("tokenizer_json", "tokenizer_json_with_config", "vocab_merges_folder"));

class TokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tok_ = new Tokenizer(make_tokenizer("tokenizer_json")); }
  static void TearDownTestSuite() { delete tok_; }
  static Tokenizer* tok_;
};
Tokenizer* TokenizerTest::tok_ = nullptr;

TEST_F(TokenizerTest, InvalidUtf8BecomesReplacementCharacter) {
  const std::string bad = std::string("ok \xff\xfe caf\xc3") + " \xed\xa0\x80 end";
  const Encoding e = tok_->encode(bad);
  const Encoding expected = tok_->encode("ok \xef\xbf\xbd\xef\xbf\xbd caf\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
  EXPECT_EQ(e.input_ids, expected.input_ids);
}

TEST_F(TokenizerTest, HardCases) {
  // Case and whitespace folding give the same ids.
  EXPECT_EQ(tok_->encode("A  Dog\tRUNS").input_ids, tok_->encode("a dog runs").input_ids);
  // Special tokens in raw text are recognised, the normalised text is not re-scanned for them.
  const auto ids = tok_->encode("x<|endoftext|>y").input_ids;
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 49407), 2);
  // Every printable ASCII character survives the byte-level round trip (lowercased; decode
  // puts a space at each end of word).
  std::string all, expected;
  for (int b = 0x21; b < 0x7f; ++b) {
    all.push_back(static_cast<char>(b));
    expected.push_back(static_cast<char>(std::tolower(b)));
  }
  std::string decoded = tok_->decode(tok_->encode(all).input_ids, true);
  decoded.erase(std::remove(decoded.begin(), decoded.end(), ' '), decoded.end());
  EXPECT_EQ(decoded, expected);
  // Long inputs: truncation keeps the end token.
  std::string long_text;
  for (int i = 0; i < 500; ++i) long_text += "word ";
  TokenizeOptions trunc;
  trunc.truncation = true;
  const Encoding t = tok_->encode(long_text, trunc);
  ASSERT_EQ(t.input_ids.size(), 77u);
  EXPECT_EQ(t.input_ids.back(), 49407);
  EXPECT_EQ(t.input_ids.front(), 49406);
  // A 200 000-character word (one BPE word) tokenizes (the merge loop is O(n log n)).
  std::string word;
  for (int i = 0; i < 100000; ++i) word += (i % 7 == 0) ? "xq" : "ab";
  EXPECT_EQ(tok_->encode(word, trunc).input_ids.size(), 77u);
  // NUL and control characters do not crash.
  EXPECT_NO_THROW(tok_->encode(std::string("a\0b\x01", 4)));
}

TEST_F(TokenizerTest, TensorsAndErrors) {
  TokenizeOptions pad;
  pad.padding = Padding::Longest;
  const auto [ids, mask] = tok_->encode_to_tensors({"a", "a dog"}, pad);
  EXPECT_EQ(ids.shape(), (std::vector<std::int64_t>{2, 4}));
  EXPECT_EQ(mask.data<std::int64_t>()[3], 0);
  EXPECT_THROW(tok_->encode_to_tensors({"a", "a dog"}, TokenizeOptions{}), InvalidArgument);
  EXPECT_THROW(tok_->encode_to_tensors({}, pad), InvalidArgument);
  EXPECT_THROW(tok_->decode({49408}), InvalidArgument);
  EXPECT_THROW(tok_->decode({-1}), InvalidArgument);
  TokenizeOptions tiny;
  tiny.truncation = true;
  tiny.max_length = 1;
  EXPECT_THROW(tok_->encode("a", tiny), InvalidArgument);
}

std::string make_dir(const std::string& name) {
  const std::string dir = scratch_dir() + "/tok_" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void expect_error_containing(const std::function<void()>& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected an error containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(TokenizerFilesTest, MalformedFilesAreRejected) {
  const std::string dir = make_dir("bad");
  auto put = [&](const std::string& name, const std::string& content) { std::ofstream(dir + "/" + name, std::ios::trunc) << content; };
  put("vocab.json", "[1, 2]");
  put("merges.txt", "#version: 0.2\na b\n");
  expect_error_containing([&] { Tokenizer::from_folder(dir); }, "must be a JSON object");
  put("vocab.json", R"({"a": 0, "b": "one"})");
  expect_error_containing([&] { Tokenizer::from_folder(dir); }, "non-integer id");
  put("vocab.json", R"({"a": 0, "b": 0})");
  expect_error_containing([&] { Tokenizer::from_folder(dir); }, "used by two tokens");
  put("vocab.json", R"({"a": 0, "b": 1, "ab": 2, "<|startoftext|>": 3, "<|endoftext|>": 4})");
  put("merges.txt", "#version: 0.2\na b c\n");
  expect_error_containing([&] { Tokenizer::from_folder(dir); }, "merges.txt:2: expected two tokens");
  put("merges.txt", "#version: 0.2\na z\n");
  expect_error_containing([&] { Tokenizer::from_folder(dir); }, "not in the vocabulary");
  put("merges.txt", "#version: 0.2\na b\n");
  put("tokenizer_config.json", "{oops");
  expect_error_containing([&] { Tokenizer::from_folder(dir); }, "not valid JSON");
  std::filesystem::remove(dir + "/tokenizer_config.json");
  EXPECT_NO_THROW(Tokenizer::from_folder(dir));
  std::filesystem::remove(dir + "/merges.txt");
  EXPECT_THROW(Tokenizer::from_folder(dir), IoError);
  EXPECT_THROW(Tokenizer::from_folder(dir + "/nonexistent"), IoError);
}

TEST(TokenizerFilesTest, UnknownPipelineComponentsAreRejected) {
  json base = json::parse(std::ifstream(fixtures() + "/tokenizer.json"));
  const std::string dir = make_dir("json");
  auto check = [&](json doc, const std::string& fragment) {
    std::ofstream(dir + "/tokenizer.json", std::ios::trunc) << doc.dump();
    expect_error_containing([&] { Tokenizer::from_tokenizer_json(dir + "/tokenizer.json"); }, fragment);
  };
  json j = base;
  j["normalizer"] = {{"type", "BertNormalizer"}};
  check(j, "normalizer type 'BertNormalizer' is not supported");
  j = base;
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  check(j, "pre_tokenizer type 'Whitespace' is not supported");
  j = base;
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+";
  check(j, "Split pre_tokenizer");
  j = base;
  j["model"]["type"] = "WordPiece";
  check(j, "model type 'WordPiece' is not supported");
  j = base;
  j["decoder"] = {{"type", "WordPiece"}};
  check(j, "decoder type 'WordPiece' is not supported");
  j = base;
  j["model"]["merges"] = json::array({json::array({"q", "zzz"})});
  check(j, "not in the vocabulary");
  std::ofstream(dir + "/tokenizer.json", std::ios::trunc) << "{\"model\": ";
  expect_error_containing([&] { Tokenizer::from_tokenizer_json(dir + "/tokenizer.json"); }, "not valid JSON");
}

}  // namespace
}  // namespace xclip::test

namespace xclip::test {
namespace {

// A server fed long one-word texts must not keep them: the BPE word cache is bounded in bytes
// (1 MB words used to stay, with their ids, until 65,536 entries).
TEST(BpeCache, BoundedInBytes) {
  text::Bpe bpe({{"a</w>", 0}, {"a", 1}, {"b", 2}, {"b</w>", 3}}, {}, "</w>", "", "", "test vocabulary");
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 64; ++i) {
    ids.clear();
    bpe.encode_word(std::string(100000 + i, 'a'), ids);
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(100000 + i));
  }
  EXPECT_EQ(bpe.cache_bytes(), 0u);  // long words are not cached
  for (int i = 0; i < 300000; ++i) {
    ids.clear();
    std::string word = "ab";
    for (int k = i; k > 0; k /= 2) word += (k % 2) ? 'a' : 'b';
    bpe.encode_word(word, ids);
  }
  EXPECT_GT(bpe.cache_bytes(), 0u);
  EXPECT_LE(bpe.cache_bytes(), 16u << 20);
}

}  // namespace
}  // namespace xclip::test
