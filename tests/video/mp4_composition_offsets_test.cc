// The MP4 'ctts' reader on box trees built byte by byte: what it reads from well-formed ones
// (as FFmpeg reads them), and that it answers nothing, without crashing, for every malformed
// or truncated one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "video/mp4_composition_offsets.h"

namespace xclip::video {
namespace {

using Bytes = std::string;

Bytes be32(std::uint32_t v) {
  return Bytes{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

Bytes box(const std::string& type, const Bytes& contents) {
  return be32(static_cast<std::uint32_t>(8 + contents.size())) + type + contents;
}

// The same box with a 64-bit size (size field 1, the real size after the type).
Bytes large_box(const std::string& type, const Bytes& contents) {
  return be32(1) + type + be32(0) + be32(static_cast<std::uint32_t>(16 + contents.size())) + contents;
}

Bytes tkhd(std::uint32_t track_id, int version = 0) {
  const Bytes times = version == 1 ? Bytes(16, '\0') : Bytes(8, '\0');
  return box("tkhd", Bytes{static_cast<char>(version), 0, 0, 0} + times + be32(track_id) + Bytes(60, '\0'));
}

Bytes ctts(const std::vector<std::pair<std::int32_t, std::int32_t>>& runs, std::uint32_t declared) {
  Bytes body = be32(0) + be32(declared);
  for (const auto& [count, offset] : runs)
    body += be32(static_cast<std::uint32_t>(count)) + be32(static_cast<std::uint32_t>(offset));
  return box("ctts", body);
}

Bytes ctts(const std::vector<std::pair<std::int32_t, std::int32_t>>& runs) {
  return ctts(runs, static_cast<std::uint32_t>(runs.size()));
}

Bytes track(std::uint32_t id, const Bytes& sample_table_boxes, int tkhd_version = 0) {
  const Bytes stbl = box("stbl", box("stts", Bytes(8, '\0')) + sample_table_boxes);
  return box("trak", tkhd(id, tkhd_version) + box("mdia", box("mdhd", Bytes(24, '\0')) + box("minf", stbl)));
}

Bytes movie(const Bytes& tracks) { return box("ftyp", "isom" + be32(0)) + box("moov", tracks) + box("mdat", "xxxx"); }

std::string write(const std::string& name, const Bytes& bytes) {
  const std::string path = std::string(XCLIP_TEST_SCRATCH_DIR) + "/ctts_" + name + ".mp4";
  std::filesystem::create_directories(XCLIP_TEST_SCRATCH_DIR);
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

using Offsets = std::vector<std::int64_t>;

TEST(Mp4CompositionOffsetsTest, ReadsTheRunsOfTheNamedTrack) {
  const Bytes audio = track(1, ctts({{4, 7}}));
  const Bytes video = track(2, ctts({{1, 1024}, {2, 2048}, {0, 99}, {1, -512}}));
  const std::string path = write("two_tracks", movie(audio + video));
  EXPECT_EQ(mp4_composition_offsets(path, 2, 4), (Offsets{1024, 2048, 2048, -512}))
      << "runs with count 0 are skipped, offsets are signed";
  EXPECT_EQ(mp4_composition_offsets(path, 1, 4), (Offsets{7, 7, 7, 7}));
  EXPECT_EQ(mp4_composition_offsets(path, 3, 4), std::nullopt) << "no such track";
  EXPECT_EQ(mp4_composition_offsets(path, 2, 5), std::nullopt) << "runs cover 4 samples, not 5";
  EXPECT_EQ(mp4_composition_offsets(path, 2, 3), std::nullopt) << "runs cover 4 samples, not 3";
}

TEST(Mp4CompositionOffsetsTest, NoTableMeansNoReordering) {
  const std::string path = write("no_ctts", movie(track(1, "")));
  EXPECT_EQ(mp4_composition_offsets(path, 1, 3), (Offsets{0, 0, 0}));
}

TEST(Mp4CompositionOffsetsTest, ReadsVersion1HeadersAnd64BitSizes) {
  const Bytes stbl = large_box("stbl", box("stts", Bytes(8, '\0')) + ctts({{2, 5}}));
  const Bytes trak =
      box("trak", tkhd(9, 1) + box("mdia", box("mdhd", Bytes(24, '\0')) + large_box("minf", stbl)));
  const std::string path = write("large_sizes", box("ftyp", "isom") + large_box("moov", trak));
  EXPECT_EQ(mp4_composition_offsets(path, 9, 2), (Offsets{5, 5}));
}

TEST(Mp4CompositionOffsetsTest, AnswersNothingForTablesItCannotVouchFor) {
  EXPECT_EQ(mp4_composition_offsets(write("huge_count", movie(track(1, ctts({{2, 5}}, 0xFFFFFFFFu)))), 1, 2),
            std::nullopt)
      << "an entry count past the box";
  EXPECT_EQ(mp4_composition_offsets(write("more_runs", movie(track(1, ctts({{1, 5}, {1, 5}, {1, 5}})))), 1, 2),
            std::nullopt)
      << "more runs than samples";
  EXPECT_EQ(mp4_composition_offsets(write("big_offset", movie(track(1, ctts({{2, (1 << 28) + 1}})))), 1, 2),
            std::nullopt)
      << "an offset FFmpeg would reject";
  Bytes overlong = movie(track(1, ctts({{2, 5}})));
  const std::size_t moov = overlong.find("moov") - 4;
  overlong.replace(moov, 4, be32(0x7FFFFFFF));
  EXPECT_EQ(mp4_composition_offsets(write("overlong", overlong), 1, 2), std::nullopt) << "a box past the file";
  EXPECT_EQ(mp4_composition_offsets(write("same_id_twice", movie(track(1, ctts({{2, 5}})) + track(1, ""))), 1, 2),
            std::nullopt)
      << "two tracks with one ID";
  EXPECT_EQ(mp4_composition_offsets(write("no_moov", box("ftyp", "isom") + box("mdat", "x")), 1, 2), std::nullopt);
  EXPECT_EQ(mp4_composition_offsets(std::string(XCLIP_TEST_SCRATCH_DIR) + "/ctts_missing.mp4", 1, 2), std::nullopt);
  EXPECT_EQ(mp4_composition_offsets(write("good", movie(track(1, ctts({{2, 5}})))), 1, 0), std::nullopt);
}

// Every prefix of a valid file (a download cut short) is read as nothing, never past its end.
TEST(Mp4CompositionOffsetsTest, EveryTruncationIsRefused) {
  const Bytes whole = box("moov", track(1, ctts({{3, 512}, {1, -512}})));
  ASSERT_EQ(mp4_composition_offsets(write("whole", whole), 1, 4), (Offsets{512, 512, 512, -512}));
  for (std::size_t size = 0; size < whole.size(); ++size) {
    EXPECT_EQ(mp4_composition_offsets(write("prefix", whole.substr(0, size)), 1, 4), std::nullopt) << size << " bytes";
  }
}

}  // namespace
}  // namespace xclip::video
