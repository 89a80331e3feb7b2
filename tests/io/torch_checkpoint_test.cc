// pytorch_model.bin: the golden tiny checkpoint saved by transformers reads to the same
// tensors as model.safetensors; hostile archives and pickles are rejected by name.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/torch_checkpoint.h"
#include "support/compare.h"
#include "support/model_fixture.h"

namespace xclip::test {
namespace {

// Stored-entry zip writer (CRCs left at zero: the reader does not need them).
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
  auto le = [](std::string& s, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  std::string out, central;
  for (const auto& [name, data] : entries) {
    const std::uint64_t offset = out.size();
    le(out, 0x04034b50, 4); le(out, 20, 2); le(out, 0, 2); le(out, 0, 2); le(out, 0, 4); le(out, 0, 4);
    le(out, data.size(), 4); le(out, data.size(), 4); le(out, name.size(), 2); le(out, 0, 2);
    out += name + data;
    le(central, 0x02014b50, 4); le(central, 20, 2); le(central, 20, 2); le(central, 0, 2); le(central, 0, 2);
    le(central, 0, 4); le(central, 0, 4); le(central, data.size(), 4); le(central, data.size(), 4);
    le(central, name.size(), 2); le(central, 0, 2); le(central, 0, 2); le(central, 0, 2); le(central, 0, 2);
    le(central, 0, 4); le(central, offset, 4);
    central += name;
  }
  const std::uint64_t cd_offset = out.size();
  out += central;
  le(out, 0x06054b50, 4); le(out, 0, 2); le(out, 0, 2); le(out, entries.size(), 2); le(out, entries.size(), 2);
  le(out, central.size(), 4); le(out, cd_offset, 4); le(out, 0, 2);
  return out;
}

std::string write(const std::string& name, const std::string& bytes) {
  const std::string path = scratch_dir() + "/torch_" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

std::string expect_error(const std::string& path) {
  try {
    io::load_torch_checkpoint(path);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << path << " should be rejected";
  return "";
}

// Builds pickle bytes opcode by opcode (string literals would stop at NUL bytes).
class PickleWriter {
 public:
  PickleWriter& op(char c) { bytes_.push_back(c); return *this; }
  PickleWriter& raw(const std::string& s) { bytes_ += s; return *this; }
  PickleWriter& u8(int v) { bytes_.push_back(static_cast<char>(v)); return *this; }
  PickleWriter& unicode(const std::string& s) {
    op('X');
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<char>((s.size() >> (8 * i)) & 0xff));
    bytes_ += s;
    return *this;
  }
  PickleWriter& global(const std::string& module, const std::string& name) { return op('c').raw(module + "\n" + name + "\n"); }
  PickleWriter& int1(int v) { return op('K').u8(v); }
  std::string str() const { return bytes_; }

 private:
  std::string bytes_;
};

// A state dict {"w": tensor} whose storage is FloatStorage key "0" of `numel` floats.
std::string tensor_pickle(int numel, int offset, int size) {
  PickleWriter w;
  w.op('\x80').u8(2).op('}').op('(').unicode("w").global("torch._utils", "_rebuild_tensor_v2").op('(');
  w.op('(').unicode("storage").global("torch", "FloatStorage").unicode("0").unicode("cpu").int1(numel).op('t').op('Q');
  w.int1(offset).int1(size).op('\x85').int1(1).op('\x85').op('\x89').global("collections", "OrderedDict").op(')').op('R');
  w.op('t').op('R').op('u').op('.');
  return w.str();
}

TEST(TorchCheckpointTest, GoldenBinMatchesSafetensors) {
  const auto bin = io::load_torch_checkpoint(golden_dir() + "/tiny_pytorch_model.bin");
  const TensorList st = tiny_tensors();
  ASSERT_EQ(bin.size(), st.size());
  for (const auto& [name, t] : st) {
    auto it = bin.find(name);
    ASSERT_NE(it, bin.end()) << name;
    ASSERT_EQ(it->second.shape(), t.shape()) << name;
    ASSERT_EQ(it->second.dtype(), DType::F32) << name;
    EXPECT_EQ(std::memcmp(it->second.raw(), t.raw(), t.nbytes()), 0) << name << " differs";
  }
}

TEST(TorchCheckpointTest, GoldenForwardFromBin) {
  const std::string dir = copy_tiny_folder("from_bin");
  std::filesystem::copy_file(golden_dir() + "/tiny_pytorch_model.bin", dir + "/pytorch_model.bin");
  Session session(Model::load(dir));
  const TinyInputs in = tiny_inputs();
  const NamedTensors out = session.forward({in.input_ids, in.attention_mask, in.pixel_values});
  const io::SafetensorsFile g = io::SafetensorsFile::open(golden_dir() + "/golden_tiny.safetensors");
  for (const char* name : {"logits_per_video", "text_embeds", "video_embeds"}) {
    const CompareResult r = compare_f32(name, out.at(name), g.get(std::string("tiny/fwd_2v3t/") + name), {2e-5, 0, false});
    EXPECT_TRUE(r.ok) << r.message;
  }
}

TEST(TorchCheckpointTest, ValidHandmadeArchive) {
  std::string floats(16, '\0');
  const float v[4] = {1, 2, 3, 4};
  std::memcpy(floats.data(), v, 16);
  const std::string path = write("ok.bin", make_zip({{"archive/data.pkl", tensor_pickle(4, 1, 2)}, {"archive/data/0", floats}}));
  const auto t = io::load_torch_checkpoint(path);
  ASSERT_EQ(t.count("w"), 1u);
  EXPECT_EQ(t.at("w").shape(), (std::vector<std::int64_t>{2}));
  EXPECT_EQ(t.at("w").data<float>()[0], 2.0f);  // storage offset 1
}

TEST(TorchCheckpointTest, HostileInputsAreRejected) {
  const std::string floats(16, '\0');
  // A global that would run a shell command in Python.
  const std::string system_call = PickleWriter().op('\x80').u8(2).global("posix", "system").unicode("ls").op('\x85').op('R').op('.').str();
  EXPECT_NE(expect_error(write("system.bin", make_zip({{"a/data.pkl", system_call}}))).find("pickle global 'posix system' is not allowed"),
            std::string::npos);
  // A memo index of 2^31 - 1.
  const std::string memo = std::string("\x80\x02}r\xff\xff\xff\x7f", 8) + ".";
  EXPECT_NE(expect_error(write("memo.bin", make_zip({{"a/data.pkl", memo}}))).find("memo index 2147483647"), std::string::npos);
  // Storage offset past the end of the storage.
  EXPECT_NE(expect_error(write("offset.bin", make_zip({{"a/data.pkl", tensor_pickle(4, 9, 2)}, {"a/data/0", floats}})))
                .find("reaches past the end of its storage"),
            std::string::npos);
  // Storage bytes shorter than declared.
  EXPECT_NE(expect_error(write("short.bin", make_zip({{"a/data.pkl", tensor_pickle(64, 0, 2)}, {"a/data/0", floats}})))
                .find("declares 64 elements"),
            std::string::npos);
  // Missing storage entry, unknown opcode, truncated pickle.
  EXPECT_NE(expect_error(write("nostorage.bin", make_zip({{"a/data.pkl", tensor_pickle(4, 0, 2)}}))).find("is missing"),
            std::string::npos);
  EXPECT_NE(expect_error(write("opcode.bin", make_zip({{"a/data.pkl", PickleWriter().op('\x80').u8(2).u8(0xff).str()}})))
                .find("opcode 0xff"),
            std::string::npos);
  EXPECT_NE(expect_error(write("trunc_pickle.bin", make_zip({{"a/data.pkl", tensor_pickle(4, 0, 2).substr(0, 40)}})))
                .find("truncated"),
            std::string::npos);
  // A truncated archive (no end-of-central-directory record) and a non-zip file.
  std::ifstream in(golden_dir() + "/tiny_pytorch_model.bin", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(expect_error(write("truncated.bin", bytes.substr(0, bytes.size() / 2))).find("not a zip archive"), std::string::npos);
  EXPECT_NE(expect_error(write("text.bin", std::string(100, 'x'))).find("not a zip archive"), std::string::npos);
  EXPECT_NE(expect_error(write("nopkl.bin", make_zip({{"a/other", "x"}}))).find("no data.pkl"), std::string::npos);
}

}  // namespace
}  // namespace xclip::test
