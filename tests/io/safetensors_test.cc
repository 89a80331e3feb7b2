// safetensors parsing: valid files round-trip; corrupt and hostile headers are rejected
// with a FormatError naming the file and the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "support/test_paths.h"
#include "xclip/error.h"

namespace xclip::io {
namespace {

std::string scratch(const std::string& name) { return test::scratch_dir() + "/safetensors_" + name; }

// Writes an 8-byte length (or `declared_len`), the header text and `data_bytes` zero bytes.
std::string write_raw(const std::string& name, const std::string& header, std::size_t data_bytes,
                      long long declared_len = -1) {
  const std::string path = scratch(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const std::uint64_t n = declared_len >= 0 ? static_cast<std::uint64_t>(declared_len) : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out << header;
  out << std::string(data_bytes, '\0');
  return path;
}

void expect_format_error(const std::string& path, const std::string& fragment) {
  try {
    SafetensorsFile::open(path);
    FAIL() << "expected a FormatError for " << path;
  } catch (const FormatError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(path), std::string::npos) << "message does not name the file: " << what;
    EXPECT_NE(what.find(fragment), std::string::npos) << "message '" << what << "' lacks '" << fragment << "'";
  }
}

TEST(SafetensorsTest, RoundTrip) {
  Tensor a = Tensor::empty(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i) a.mutable_data<float>()[i] = static_cast<float>(i) * 0.5f;
  const std::int64_t ids[3] = {49406, 7, 49407};
  Tensor b = Tensor::from_values<std::int64_t>(DType::I64, {1, 3}, ids);
  const std::string path = scratch("roundtrip.safetensors");
  write_safetensors(path, {{"a", a}, {"b/ids", b}}, {{"k", "v"}});
  const SafetensorsFile f = SafetensorsFile::open(path);
  ASSERT_TRUE(f.contains("a"));
  EXPECT_EQ(f.get("a").shape(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.get("a").data<float>()[5], 2.5f);
  EXPECT_EQ(f.get("b/ids").data<std::int64_t>()[2], 49407);
  EXPECT_EQ(f.metadata().at("k"), "v");
  EXPECT_THROW(f.get("missing"), FormatError);
}

TEST(SafetensorsTest, RejectsShortFile) { expect_format_error(write_raw("short", "", 0, 0).substr(0), "header"); }

TEST(SafetensorsTest, RejectsTinyFile) {
  const std::string path = scratch("tiny");
  std::ofstream(path, std::ios::binary) << "abc";
  expect_format_error(path, "too short");
}

TEST(SafetensorsTest, RejectsHeaderLengthPastEnd) {
  expect_format_error(write_raw("past_end", "{}", 0, 1000), "runs past the end");
}

TEST(SafetensorsTest, RejectsHugeHeaderLength) {
  expect_format_error(write_raw("huge_len", "{}", 0, 1ll << 62), "runs past the end");
}

TEST(SafetensorsTest, RejectsInvalidJson) { expect_format_error(write_raw("bad_json", "{\"a\": [1,", 0), "not valid JSON"); }

TEST(SafetensorsTest, RejectsNonObjectHeader) { expect_format_error(write_raw("array", "[1, 2]", 0), "not a JSON object"); }

TEST(SafetensorsTest, RejectsUnknownDtype) {
  expect_format_error(write_raw("dtype", R"({"x":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})", 16),
                      "unsupported dtype");
}

TEST(SafetensorsTest, RejectsOffsetsOutOfRange) {
  expect_format_error(write_raw("range", R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8),
                      "past the end of the data section");
}

TEST(SafetensorsTest, RejectsHugeOffsets) {
  expect_format_error(
      write_raw("huge_off", R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[18446744073709551600,18446744073709551615]}})", 16),
      "past the end");
}

TEST(SafetensorsTest, RejectsReversedOffsets) {
  expect_format_error(write_raw("reversed", R"({"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", 8), "reversed");
}

TEST(SafetensorsTest, RejectsWrongByteCount) {
  expect_format_error(write_raw("bytes", R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), "needs 12");
}

TEST(SafetensorsTest, RejectsOverlappingTensors) {
  expect_format_error(write_raw("overlap",
                                R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                12),
                      "overlap");
}

TEST(SafetensorsTest, RejectsDuplicateNames) {
  expect_format_error(write_raw("dup",
                                R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                R"("x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                                8),
                      "twice");
}

TEST(SafetensorsTest, RejectsNegativeAndOverflowingShapes) {
  expect_format_error(write_raw("neg", R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4), "non-negative");
  expect_format_error(
      write_raw("overflow", R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,4]}})", 4),
      "overflows");
}

TEST(SafetensorsTest, RejectsMalformedEntries) {
  expect_format_error(write_raw("no_dtype", R"({"x":{"shape":[1],"data_offsets":[0,4]}})", 4), "missing dtype");
  expect_format_error(write_raw("offsets3", R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 8),
                      "data_offsets must be");
  expect_format_error(write_raw("meta", R"({"__metadata__":{"a":1}})", 0), "__metadata__");
}

TEST(SafetensorsTest, MissingFileAndDirectoryAreIoErrors) {
  EXPECT_THROW(SafetensorsFile::open(scratch("does_not_exist")), IoError);
  EXPECT_THROW(SafetensorsFile::open(test::scratch_dir()), IoError);
}

TEST(SafetensorsTest, EmptyFileIsFormatError) {
  const std::string path = scratch("empty");
  std::ofstream(path, std::ios::binary | std::ios::trunc);
  expect_format_error(path, "too short");
}

}  // namespace
}  // namespace xclip::io
