// VideoReader on videos made with the ffmpeg CLI at test time (nothing binary is committed):
// codecs, containers, pixel formats, odd sizes, variable frame rate, rotation, wrong header
// counts; frames compared byte for byte with what ffmpeg decodes to rgb24 for the same
// indices. Bad inputs must give clear errors or documented partial results, never crashes.
#include <gtest/gtest.h>

#include <cstring>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "support/test_paths.h"
#include "xclip/error.h"
#include "xclip/video.h"

namespace xclip::test {
namespace {

std::string video_dir() {
  static const std::string dir = [] {
    const std::string d = scratch_dir() + "/videos";
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

int run(const std::string& command) {
  const int status = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Makes (once) a test video with ffmpeg; fails the test if ffmpeg cannot.
std::string make_video(const std::string& name, const std::string& args) {
  const std::string path = video_dir() + "/" + name;
  if (!std::filesystem::exists(path)) {
    const std::string cmd = "ffmpeg -nostdin -loglevel error -y " + args + " " + path;
    if (run(cmd) != 0) throw std::runtime_error("ffmpeg failed: " + cmd);
  }
  return path;
}

std::string source(const std::string& size, int rate, double seconds) {
  return "-f lavfi -i testsrc2=size=" + size + ":rate=" + std::to_string(rate) + ":duration=" + std::to_string(seconds);
}

// Frame `index` (decode order of ffmpeg's select filter = presentation order) as rgb24.
std::vector<std::uint8_t> ffmpeg_frame(const std::string& path, std::int64_t index) {
  const std::string cmd = "ffmpeg -nostdin -loglevel error -i " + path + " -vf 'select=eq(n\\," + std::to_string(index) +
                          ")' -vsync 0 -frames:v 1 -pix_fmt rgb24 -f rawvideo - 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  std::vector<std::uint8_t> out;
  std::array<std::uint8_t, 65536> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), pipe)) out.insert(out.end(), buf.begin(), buf.begin() + n);
  pclose(pipe);
  return out;
}

struct Case {
  std::string name;
  std::string args;
  std::int64_t frames;
  int width, height;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class VideoFormatsTest : public ::testing::TestWithParam<Case> {};

TEST_P(VideoFormatsTest, FramesMatchFfmpegByteForByte) {
  const Case& c = GetParam();
  const std::string path = make_video(c.name, c.args);
  VideoReader reader = VideoReader::open(path);
  const VideoInfo& info = reader.info();
  EXPECT_EQ(info.frame_count, c.frames);
  EXPECT_TRUE(info.frame_count_exact);
  EXPECT_EQ(info.width, c.width);
  EXPECT_EQ(info.height, c.height);
  // Out of order, with a duplicate and both ends.
  const std::vector<std::int64_t> indices = {c.frames - 1, 0, c.frames / 2, 1, c.frames / 2, c.frames / 3};
  const DecodedFrames got = reader.frames_at(indices);
  ASSERT_EQ(got.frames.shape(), (std::vector<std::int64_t>{6, c.height, c.width, 3}));
  const std::size_t bytes = static_cast<std::size_t>(c.width) * c.height * 3;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::vector<std::uint8_t> ref = ffmpeg_frame(path, indices[k]);
    ASSERT_EQ(ref.size(), bytes) << c.name << " frame " << indices[k];
    const std::uint8_t* ours = got.frames.data<std::uint8_t>() + k * bytes;
    std::size_t differing = 0;
    for (std::size_t i = 0; i < bytes; ++i) differing += ours[i] != ref[i];
    EXPECT_EQ(differing, 0u) << c.name << ": frame " << indices[k] << " differs from ffmpeg's rgb24 in " << differing
                             << " bytes";
    EXPECT_EQ(got.indices[k], indices[k]);
  }
  EXPECT_EQ(got.pts_seconds[1], 0.0);
}

const std::string kSrc = source("160x120", 25, 2);

INSTANTIATE_TEST_SUITE_P(
    Ffmpeg, VideoFormatsTest,
    ::testing::Values(
        Case{"h264.mp4", kSrc + " -c:v libx264 -g 12 -bf 3 -pix_fmt yuv420p", 50, 160, 120},
        Case{"h264_full_range.mkv", kSrc + " -c:v libx264 -g 10 -pix_fmt yuvj420p", 50, 160, 120},
        Case{"h264_444.mov", kSrc + " -c:v libx264 -g 10 -pix_fmt yuv444p", 50, 160, 120},
        Case{"h264_odd_97x131.mp4", kSrc + " -vf scale=131:97 -c:v libx264 -g 8 -pix_fmt yuv444p", 50, 131, 97},
        Case{"h265_10bit.mkv", kSrc + " -c:v libx265 -x265-params log-level=error:keyint=15 -pix_fmt yuv420p10le", 50, 160, 120},
        Case{"mpeg4.avi", kSrc + " -c:v mpeg4 -g 10 -q:v 4", 50, 160, 120},
        Case{"vp9.webm", kSrc + " -c:v libvpx-vp9 -g 10 -deadline realtime -cpu-used 8 -b:v 200k", 50, 160, 120},
        Case{"av1.mkv", kSrc + " -c:v libaom-av1 -cpu-used 8 -crf 50 -g 10", 50, 160, 120},
        Case{"mjpeg.avi", kSrc + " -c:v mjpeg -q:v 5", 50, 160, 120},
        // Every 10th frame repeats the previous timestamp (ffprobe -count_frames: 60).
        Case{"duplicated_timestamps.mkv", source("160x120", 30, 2) +
                 " -vf setpts='if(eq(mod(N\\,10)\\,5)\\,(N-1)/30\\,N/30)/TB' -fps_mode passthrough -c:v libx264 -bf 3 -pix_fmt yuv420p",
             60, 160, 120},
        Case{"vfr.mkv", source("160x120", 30, 2) +
                            " -vf setpts='if(lt(N\\,20)\\,N/30\\,20/30+(N-20)/10)/TB' -fps_mode vfr -c:v libx264 -g 10",
             60, 160, 120}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (char& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

// ffprobe's decoded frame count of the default video stream (-count_frames).
std::int64_t ffprobe_frame_count(const std::string& path) {
  const std::string cmd = "ffprobe -v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames "
                          "-of default=nokey=1:noprint_wrappers=1 " + path + " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  char buf[64] = {0};
  const std::size_t n = fread(buf, 1, sizeof(buf) - 1, pipe);
  pclose(pipe);
  buf[n] = '\0';
  return std::strtoll(buf, nullptr, 10);
}

// The presentation time of every frame ffprobe decodes from the default video stream, in
// seconds, in the order it shows them (best_effort_timestamp: what ffmpeg itself uses); NaN
// where ffprobe has none (streams without timestamps).
std::vector<double> ffprobe_frame_times(const std::string& path) {
  const std::string cmd = "ffprobe -v error -select_streams v:0 -show_entries frame=best_effort_timestamp_time "
                          "-of compact " + path + " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  std::vector<double> times;
  const std::string prefix = "frame|best_effort_timestamp_time=";
  char line[512];
  while (fgets(line, sizeof(line), pipe)) {
    const std::string text(line);
    if (text.rfind(prefix, 0) != 0) continue;  // side data of the frame before
    char* end = nullptr;
    const double t = std::strtod(text.c_str() + prefix.size(), &end);
    times.push_back(end != text.c_str() + prefix.size() ? t : std::nan(""));
  }
  pclose(pipe);
  return times;
}

struct ContainerCase {
  std::string name;
  std::vector<std::string> commands;  // run in order; "OUT" is the file, "DIR" the video folder
};

void PrintTo(const ContainerCase& c, std::ostream* os) { *os << c.name; }

class ContainerMatrixTest : public ::testing::TestWithParam<ContainerCase> {};

// The count and the frames at X-CLIP's uniform indices agree with ffprobe -count_frames and
// ffmpeg's own decoding (select by decoded frame number) on every file of the matrix.
TEST_P(ContainerMatrixTest, CountAndUniformFramesMatchFfmpeg) {
  const ContainerCase& c = GetParam();
  const std::string path = video_dir() + "/matrix_" + c.name;
  if (!std::filesystem::exists(path)) {
    for (std::string cmd : c.commands) {
      for (auto at = cmd.find("OUT"); at != std::string::npos; at = cmd.find("OUT")) cmd.replace(at, 3, path);
      for (auto at = cmd.find("DIR"); at != std::string::npos; at = cmd.find("DIR")) cmd.replace(at, 3, video_dir());
      ASSERT_EQ(run(cmd), 0) << cmd;
    }
  }
  const std::int64_t expected = ffprobe_frame_count(path);
  ASSERT_GT(expected, 0) << "ffprobe counted no frames in " << path;
  VideoReader reader = VideoReader::open(path);
  EXPECT_EQ(reader.info().frame_count, expected) << c.name;
  EXPECT_TRUE(reader.info().frame_count_exact);
  const std::vector<std::int64_t> indices = sampling::uniform(expected, 8);
  const DecodedFrames got = reader.frames_at(indices);
  const std::size_t bytes = static_cast<std::size_t>(got.frames.dim(1) * got.frames.dim(2) * 3);
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const std::vector<std::uint8_t> ref = ffmpeg_frame(path, indices[k]);
    ASSERT_EQ(ref.size(), bytes) << c.name << " frame " << indices[k];
    EXPECT_TRUE(std::equal(ref.begin(), ref.end(), got.frames.data<std::uint8_t>() + k * bytes))
        << c.name << ": frame " << indices[k] << " differs from ffmpeg's";
  }
  // And by timestamp: each frame's time (from the first frame's) is ffprobe's for that index,
  // wherever ffprobe knows one (files without timestamps are compared by index alone).
  const std::vector<double> times = ffprobe_frame_times(path);
  ASSERT_EQ(static_cast<std::int64_t>(times.size()), expected) << c.name;
  for (std::size_t k = 0; k < indices.size(); ++k) {
    const double theirs = times[static_cast<std::size_t>(indices[k])];
    if (std::isnan(theirs) || std::isnan(times[0])) continue;
    EXPECT_NEAR(got.pts_seconds[k], theirs - times[0], 1e-3)
        << c.name << ": frame " << indices[k] << "'s time differs from ffprobe's";
  }
}

const std::string kMatrixSrc = "ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=160x120:rate=25:duration=3";
const std::string kX264 = " -c:v libx264 -pix_fmt yuv420p";

INSTANTIATE_TEST_SUITE_P(
    Containers, ContainerMatrixTest,
    ::testing::Values(
        ContainerCase{"bframes.mp4", {kMatrixSrc + kX264 + " -g 25 -bf 3 OUT"}},
        ContainerCase{"no_bframes.mp4", {kMatrixSrc + kX264 + " -g 25 -bf 0 OUT"}},
        ContainerCase{"bframes.mov", {kMatrixSrc + kX264 + " -g 25 -bf 2 OUT"}},
        ContainerCase{"bframes.mkv", {kMatrixSrc + kX264 + " -g 25 -bf 2 OUT"}},
        ContainerCase{"vp9.webm", {kMatrixSrc + " -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -g 25 OUT"}},
        ContainerCase{"mpeg4.avi", {kMatrixSrc + " -c:v mpeg4 -g 25 OUT"}},
        // AVI stores no presentation times: B-frames there come in decode order only.
        ContainerCase{"mpeg4_bframes.avi", {kMatrixSrc + " -c:v mpeg4 -g 25 -bf 2 OUT"}},
        ContainerCase{"h264_bframes.avi", {kMatrixSrc + kX264 + " -g 25 -bf 3 OUT"}},
        ContainerCase{"mpeg2_bframes.mpg", {kMatrixSrc + " -c:v mpeg2video -g 15 -bf 2 OUT"}},
        ContainerCase{"bframes.flv", {kMatrixSrc + kX264 + " -g 25 -bf 2 OUT"}},
        // Elementary streams: no container, no timestamps at all.
        ContainerCase{"bframes.h264", {kMatrixSrc + kX264 + " -g 25 -bf 3 -f h264 OUT"}},
        ContainerCase{"bframes.m4v", {kMatrixSrc + " -c:v mpeg4 -g 25 -bf 2 -f m4v OUT"}},
        ContainerCase{"bframes.ts", {kMatrixSrc + kX264 + " -g 25 -bf 3 OUT"}},
        ContainerCase{"open_gop.mkv", {kMatrixSrc + kX264 + " -g 20 -bf 3 -x264-params open-gop=1:scenecut=0 OUT"}},
        // vfr patterns: a slow middle, every 7th timestamp repeated, gaps (missing timestamps).
        ContainerCase{"vfr_slow.mp4",
                      {kMatrixSrc + " -vf setpts='if(lt(N\\,30)\\,N/25\\,30/25+(N-30)/8)/TB' -fps_mode vfr" + kX264 +
                       " -bf 2 OUT"}},
        ContainerCase{"dup_ts.mkv", {kMatrixSrc + " -vf setpts='if(eq(mod(N\\,7)\\,3)\\,(N-1)/25\\,N/25)/TB' "
                                                  "-fps_mode passthrough" + kX264 + " -bf 2 OUT"}},
        ContainerCase{"gaps.mkv", {kMatrixSrc + " -vf setpts='(N+3*floor(N/10))/25/TB' -fps_mode passthrough" + kX264 +
                                   " -bf 2 OUT"}},
        // An MP4 trimmed by stream copy: an edit list hides the frames before the cut.
        ContainerCase{"edit_list.mp4", {kMatrixSrc + kX264 + " -g 25 -bf 2 DIR/matrix_edit_source.mp4",
                                        "ffmpeg -nostdin -loglevel error -y -ss 0.62 -i DIR/matrix_edit_source.mp4 "
                                        "-c copy -t 1.5 OUT"}},
        // Timestamps starting below zero, and negative decode timestamps (B-frames).
        ContainerCase{"negative_ts.mp4", {kMatrixSrc + kX264 + " -g 25 -bf 2 -output_ts_offset -0.5 OUT"}},
        ContainerCase{"negative_dts.mp4", {kMatrixSrc + kX264 + " -g 25 -bf 2 -avoid_negative_ts disabled "
                                                                "-movflags negative_cts_offsets OUT"}},
        ContainerCase{"two_streams.mkv",
                      {"ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=160x120:rate=25:duration=3 "
                       "-f lavfi -i smptebars=size=80x60:rate=10:duration=2 -map 0:v -map 1:v" + kX264 + " OUT"}},
        ContainerCase{"one_frame.mp4", {kMatrixSrc + kX264 + " -frames:v 1 OUT"}},
        ContainerCase{"audio_first.mp4",
                      {"ffmpeg -nostdin -loglevel error -y -f lavfi -i sine=duration=3 -f lavfi "
                       "-i testsrc2=size=160x120:rate=25:duration=3 -map 0:a -map 1:v -c:a aac" + kX264 + " -bf 2 OUT"}}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (char& ch : n)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

TEST(VideoReaderTest, RotationMetadataIsApplied) {
  const std::string plain = make_video("plain_for_rotation.mp4", kSrc + " -c:v libx264 -g 10 -pix_fmt yuv420p");
  const std::string rotated = video_dir() + "/rotated.mp4";
  if (!std::filesystem::exists(rotated)) {
    ASSERT_EQ(run("ffmpeg -nostdin -loglevel error -y -i " + plain + " -c copy -metadata:s:v:0 rotate=90 " + rotated), 0);
  }
  VideoReader r = VideoReader::open(rotated);
  EXPECT_EQ(r.info().rotation, 270);  // ffmpeg's autorotate turns it 90 degrees counter-clockwise
  EXPECT_EQ(r.info().width, 120);
  EXPECT_EQ(r.info().height, 160);
  const DecodedFrames got = r.frames_at({7});
  const std::vector<std::uint8_t> ref = ffmpeg_frame(rotated, 7);  // ffmpeg autorotates too
  ASSERT_EQ(ref.size(), static_cast<std::size_t>(got.frames.numel()));
  EXPECT_TRUE(std::equal(ref.begin(), ref.end(), got.frames.data<std::uint8_t>()));
  // And it is the upright frame turned: pixel (r, c) of the rotated = (c, W-1-r) of the plain.
  const DecodedFrames up = VideoReader::open(plain).frames_at({7});
  const std::uint8_t* a = got.frames.data<std::uint8_t>();
  const std::uint8_t* b = up.frames.data<std::uint8_t>();
  for (int row = 0; row < 160; row += 13)
    for (int col = 0; col < 120; col += 11)
      for (int ch = 0; ch < 3; ++ch) ASSERT_EQ(a[(row * 120 + col) * 3 + ch], b[(col * 160 + (159 - row)) * 3 + ch]);
}

TEST(VideoReaderTest, HeaderCountCanBeWrongExactCountIsNot) {
  const std::string path = make_video("raw.h264", kSrc + " -c:v libx264 -g 10 -bsf:v h264_mp4toannexb -f h264");
  VideoOpenOptions header;
  header.frame_count = FrameCountMode::Header;
  const VideoReader approx = VideoReader::open(path, header);
  EXPECT_FALSE(approx.info().frame_count_exact);
  EXPECT_NE(approx.info().frame_count, 50) << "raw H.264 has no frame count; the header estimate should be off";
  const VideoReader exact = VideoReader::open(path);
  EXPECT_EQ(exact.info().frame_count, 50);
}

TEST(VideoReaderTest, TimesAndSeekingStatistics) {
  const std::string path = make_video("long_gop.mp4", source("160x120", 25, 8) + " -c:v libx264 -g 50 -bf 2 -pix_fmt yuv420p");
  VideoReader r = VideoReader::open(path);
  EXPECT_NEAR(r.info().duration_seconds, 8.0, 0.05);
  EXPECT_NEAR(r.info().average_fps, 25.0, 1e-6);
  const DecodedFrames t = r.frames_at_times({0.0, 1.0, 3.99, 7.5});
  EXPECT_EQ(t.indices, (std::vector<std::int64_t>{0, 25, 99, 187}));
  EXPECT_NEAR(t.pts_seconds[1], 1.0, 1e-9);
  r.frames_at(sampling::uniform(r.info().frame_count, 4));
  EXPECT_GE(r.last_stats().seeks, 3) << "far targets should seek to their keyframes";
  EXPECT_LT(r.last_stats().decoded_frames, 200) << "seeking should avoid decoding the whole video";
  EXPECT_THROW(r.frames_at({200}), InvalidArgument);
  EXPECT_THROW(r.frames_at({-1}), InvalidArgument);
  EXPECT_THROW(r.frames_at({}), InvalidArgument);
  EXPECT_THROW(r.frames_at_times({-1.0}), InvalidArgument);
}

// An MPEG program stream with B-frames: presentation times on some packets only and no seek
// index, so frames are counted from the first one and every way back to it reopens the file.
// The open leaves the reader there: the first call starts decoding at once, a later call for
// an earlier frame goes back once.
TEST(VideoReaderTest, StreamsCountedFromTheStartReopenOnlyToGoBack) {
  const std::string path =
      make_video("counted_bframes.mpg", source("160x120", 25, 2) + " -c:v mpeg2video -g 25 -bf 2 -f vob");
  VideoReader r = VideoReader::open(path);
  const DecodedFrames later = r.frames_at({30, 40});
  EXPECT_EQ(r.last_stats().seeks, 0) << "the open already left the reader at the first frame";
  const DecodedFrames again = r.frames_at({10, 40});
  EXPECT_EQ(r.last_stats().seeks, 1);
  const std::size_t bytes = static_cast<std::size_t>(later.frames.dim(1) * later.frames.dim(2) * 3);
  EXPECT_TRUE(std::equal(later.frames.data<std::uint8_t>() + bytes, later.frames.data<std::uint8_t>() + 2 * bytes,
                         again.frames.data<std::uint8_t>() + bytes))
      << "frame 40 differs between the two calls";
  const std::vector<std::uint8_t> ref = ffmpeg_frame(path, 10);
  EXPECT_TRUE(std::equal(ref.begin(), ref.end(), again.frames.data<std::uint8_t>())) << "frame 10 differs from ffmpeg's";
}

TEST(VideoReaderTest, KeyframeSeekUsesTheKeyframeBeforeEachTarget) {
  // Keyframes every 50 frames (x264 may add scene-cut keyframes: compare with exact decoding
  // of whatever keyframes keyframe mode reports, and check they lie at or before the targets).
  const std::string path = make_video("long_gop.mp4", source("160x120", 25, 8) + " -c:v libx264 -g 50 -bf 2 -pix_fmt yuv420p");
  VideoOpenOptions keyframe;
  keyframe.seek = SeekMode::Keyframe;
  VideoReader fast = VideoReader::open(path, keyframe);
  const std::vector<std::int64_t> targets = {30, 120, 60, 199, 5};
  const DecodedFrames got = fast.frames_at(targets);
  ASSERT_EQ(got.indices.size(), targets.size());
  for (std::size_t k = 0; k < targets.size(); ++k) {
    EXPECT_LE(got.indices[k], targets[k]);
    EXPECT_GT(got.indices[k], targets[k] - 50) << "the keyframe before " << targets[k];
  }
  EXPECT_EQ(got.indices[0], 0);
  EXPECT_EQ(got.indices[1], 100);
  EXPECT_LE(fast.last_stats().decoded_frames, 4 * 8) << "a few pictures per keyframe, not whole GOPs";
  VideoReader exact = VideoReader::open(path);
  const DecodedFrames reference = exact.frames_at(got.indices);
  ASSERT_EQ(reference.frames.nbytes(), got.frames.nbytes());
  EXPECT_EQ(std::memcmp(reference.frames.raw(), got.frames.raw(), got.frames.nbytes()), 0);
  EXPECT_EQ(reference.pts_seconds, got.pts_seconds);
}

TEST(VideoReaderTest, ParallelDecodersGiveTheFramesOfOneDecoder) {
  // Keyframes every 40 frames, B-frames: 8 uniform targets of 400 frames fall in 8 stretches
  // of 6-36 frames, enough 640x360 pictures for a second decoder to pay off.
  const std::string path = make_video("gop40_16s.mp4", source("640x360", 25, 16) + " -c:v libx264 -g 40 -keyint_min 40 -sc_threshold 0 -bf 2 -pix_fmt yuv420p");
  VideoOpenOptions one, two;
  one.threads = 1;
  two.threads = 2;
  VideoReader single = VideoReader::open(path, one);
  VideoReader parallel = VideoReader::open(path, two);
  const std::vector<std::int64_t> targets = sampling::uniform(single.info().frame_count, 8);
  const DecodedFrames a = single.frames_at(targets);
  const DecodedFrames b = parallel.frames_at({targets.rbegin(), targets.rend()});  // any order
  EXPECT_EQ(single.last_stats().decoders, 1);
  EXPECT_EQ(parallel.last_stats().decoders, 2);
  EXPECT_EQ(parallel.last_stats().decoded_frames, single.last_stats().decoded_frames) << "no frame decoded twice";
  const std::size_t bytes = a.frames.nbytes() / targets.size();
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const std::size_t r = targets.size() - 1 - k;
    EXPECT_EQ(b.indices[r], targets[k]);
    EXPECT_EQ(b.pts_seconds[r], a.pts_seconds[k]);
    EXPECT_EQ(std::memcmp(a.frames.data<std::uint8_t>() + k * bytes, b.frames.data<std::uint8_t>() + r * bytes, bytes), 0)
        << "frame " << targets[k];
  }
  const std::vector<std::uint8_t> ref = ffmpeg_frame(path, targets[5]);
  ASSERT_EQ(ref.size(), bytes);
  EXPECT_EQ(std::memcmp(ref.data(), a.frames.data<std::uint8_t>() + 5 * bytes, bytes), 0);
  EXPECT_THROW(parallel.frames_at({targets[0], 100000}), InvalidArgument);
  // A few frames of a small clip are not worth a second decoder.
  parallel.frames_at({targets[0], targets[7]});
  EXPECT_EQ(parallel.last_stats().decoders, 1);
}

std::string expect_open_error(const std::string& path) {
  try {
    VideoReader::open(path);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << "message does not name the file: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "opening " << path << " should fail";
  return "";
}

TEST(VideoBadInputTest, MissingDirectoryEmptyTextAudio) {
  EXPECT_THROW(VideoReader::open(video_dir() + "/missing.mp4"), IoError);
  EXPECT_THROW(VideoReader::open(video_dir()), IoError);
  const std::string empty = video_dir() + "/empty.mp4";
  std::ofstream(empty).close();
  EXPECT_NE(expect_open_error(empty).find("empty file"), std::string::npos);
  const std::string text = video_dir() + "/notes.mp4";
  std::ofstream(text) << "this is not a video\n";
  EXPECT_NE(expect_open_error(text).find("not a video"), std::string::npos);
  const std::string audio = make_video("audio_only.wav", "-f lavfi -i sine=frequency=440:duration=1");
  EXPECT_NE(expect_open_error(audio).find("no video stream"), std::string::npos);
}

TEST(VideoBadInputTest, TruncatedFileServesTheFramesThatExist) {
  const std::string full = make_video("for_truncation.mp4", kSrc + " -c:v libx264 -g 10 -movflags +faststart -pix_fmt yuv420p");
  const std::string cut = video_dir() + "/truncated.mp4";
  std::filesystem::copy_file(full, cut, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(cut, std::filesystem::file_size(full) * 6 / 10);
  VideoReader r = VideoReader::open(cut);
  const std::int64_t n = r.info().frame_count;
  EXPECT_GT(n, 5);
  EXPECT_LT(n, 50) << "the real count of a truncated file is reported";
  // Early frames decode exactly as from the complete file.
  const DecodedFrames a = r.frames_at({2}), b = VideoReader::open(full).frames_at({2});
  EXPECT_TRUE(std::equal(a.frames.data<std::uint8_t>(), a.frames.data<std::uint8_t>() + a.frames.numel(),
                         b.frames.data<std::uint8_t>()));
  // The last counted frame may be incomplete: decoded or a clear error, never a crash.
  try {
    r.frames_at({n - 1});
  } catch (const FormatError&) {
  }
}

TEST(VideoBadInputTest, BitFlipsNeverCrashOrHang) {
  const std::string clean = make_video("for_flips.mp4", kSrc + " -c:v libx264 -g 10 -pix_fmt yuv420p");
  std::ifstream in(clean, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int opened = 0;
  for (unsigned seed = 0; seed < 12; ++seed) {
    std::string corrupt = bytes;
    std::mt19937 rng(seed);
    const int flips = seed < 6 ? 20 : 400;
    for (int i = 0; i < flips; ++i) corrupt[rng() % corrupt.size()] ^= static_cast<char>(1u << (rng() % 8));
    const std::string path = video_dir() + "/flipped_" + std::to_string(seed) + ".mp4";
    std::ofstream(path, std::ios::binary) << corrupt;
    try {
      VideoReader r = VideoReader::open(path);
      ++opened;
      if (r.info().frame_count > 0) r.frames_at(sampling::uniform(r.info().frame_count, 4));
    } catch (const Error&) {
      // a clear error is a fine outcome for a corrupt file
    }
  }
  EXPECT_GT(opened, 0) << "some lightly corrupted files should still open";
}

// Two video streams, the second marked default: FFmpeg reads the default one, so must we;
// `stream` chooses another; info says which was read.
TEST(VideoStreamChoiceTest, DefaultDispositionFirstAndStreamOption) {
  const std::string path = make_video(
      "two_streams.mkv", "-f lavfi -i testsrc2=size=64x48:rate=10:duration=1 -f lavfi -i "
                         "smptebars=size=96x64:rate=10:duration=1 -map 0 -map 1 -c:v libx264 -pix_fmt yuv420p "
                         "-disposition:v:0 0 -disposition:v:1 default");
  VideoReader chosen = VideoReader::open(path);
  EXPECT_EQ(chosen.info().stream_index, 1);
  EXPECT_EQ(chosen.info().video_streams, 2);
  EXPECT_EQ(chosen.info().width, 96);
  const std::vector<std::uint8_t> expected = ffmpeg_frame(path, 3);  // ffmpeg's own choice
  const DecodedFrames got = chosen.frames_at({3});
  ASSERT_EQ(got.frames.nbytes(), expected.size());
  EXPECT_EQ(std::memcmp(got.frames.raw(), expected.data(), expected.size()), 0);

  VideoOpenOptions first;
  first.stream = 0;
  EXPECT_EQ(VideoReader::open(path, first).info().width, 64);
  VideoOpenOptions missing;
  missing.stream = 5;
  EXPECT_THROW(VideoReader::open(path, missing), InvalidArgument);
}

TEST(VideoSamplingTest, AWindowPastTheEndIsAnError) {
  const std::string path = make_video("ten_seconds.mp4", source("64x48", 10, 10) + " -c:v libx264 -pix_fmt yuv420p");
  VideoReader reader = VideoReader::open(path);
  SamplingOptions s;
  s.num_frames = 8;
  s.start = 100;
  s.end = 110;
  EXPECT_THROW(sample_clips(reader, s), InvalidArgument);
  s.start = 9.5;
  s.end = 20;
  EXPECT_NO_THROW(sample_clips(reader, s));  // the last half second is in the video
}

// A JPEG photo is a one-frame video, as a PNG is (image2 does not come back after a seek:
// the reader reads the file again from its first byte).
TEST(VideoStillsTest, JpegAndPngPhotosAreOneFrameVideos) {
  for (const char* name : {"photo.jpg", "photo.png"}) {
    const std::string path = make_video(name, "-f lavfi -i testsrc2=size=160x120 -frames:v 1");
    VideoReader reader = VideoReader::open(path);
    EXPECT_EQ(reader.info().frame_count, 1) << name;
    const std::vector<std::uint8_t> expected = ffmpeg_frame(path, 0);
    const DecodedFrames got = reader.frames_at({0, 0});
    ASSERT_EQ(got.frames.nbytes(), 2 * expected.size()) << name;
    EXPECT_EQ(std::memcmp(got.frames.raw(), expected.data(), expected.size()), 0) << name;
  }
}

// Each row of `got` is ffmpeg's frame of the index asked for, byte for byte, at ffprobe's time
// for that index (where ffprobe knows one).
void expect_ffmpeg_frames(const std::string& path, const std::vector<std::int64_t>& targets, const DecodedFrames& got) {
  const std::size_t frame_bytes = got.frames.nbytes() / targets.size();
  const std::vector<double> times = ffprobe_frame_times(path);
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const std::vector<std::uint8_t> expected = ffmpeg_frame(path, targets[k]);
    ASSERT_EQ(expected.size(), frame_bytes) << path << " frame " << targets[k];
    EXPECT_EQ(std::memcmp(got.frames.data<std::uint8_t>() + k * frame_bytes, expected.data(), frame_bytes), 0)
        << path << ": frame " << targets[k] << " differs from ffmpeg's";
    const auto at = static_cast<std::size_t>(targets[k]);
    ASSERT_LT(at, times.size()) << path << ": ffprobe shows no frame " << targets[k];
    if (!std::isnan(times[at]) && !std::isnan(times[0])) {
      EXPECT_NEAR(got.pts_seconds[k], times[at] - times[0], 1e-3) << path << ": frame " << targets[k] << "'s time";
    }
  }
}

// Streams that start with pictures nobody can decode: an MPEG-TS cut mid-GOP (as a capture
// leaves it: the frames before the first keyframe), an HLS-style HEVC segment that starts with
// a CRA and its leading (RASL) pictures (they reference the previous segment). Those pictures
// are not frames (ffprobe -count_frames does not count them, ffmpeg never shows them), so
// counts agree with ffprobe and every frame is ffmpeg's frame of the same index.
TEST(VideoLeadingPicturesTest, UndecodableStartsAreNotFrames) {
  const std::string full = make_video("gop25.ts", source("160x120", 25, 4) +
                                                      " -c:v libx264 -x264-params repeat-headers=1:keyint=25:"
                                                      "min-keyint=25:scenecut=0 -bf 2 -pix_fmt yuv420p -f mpegts");
  const std::string cut = video_dir() + "/gop25_cut.ts";
  {
    std::ifstream in(full, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t from = bytes.size() / 188 / 3 * 188;  // a third in, on a packet boundary
    std::ofstream(cut, std::ios::binary).write(bytes.data() + from, static_cast<std::streamsize>(bytes.size() - from));
  }
  const std::string hls_dir = video_dir() + "/hls";
  std::filesystem::create_directories(hls_dir);
  if (!std::filesystem::exists(hls_dir + "/seg1.ts")) {
    const std::string cmd = "ffmpeg -nostdin -loglevel error -y " + source("160x120", 25, 6) +
                            " -c:v libx265 -x265-params keyint=25:min-keyint=25:open-gop=1:bframes=3:log-level=error"
                            " -pix_fmt yuv420p -f hls -hls_time 2 -hls_segment_type mpegts -hls_list_size 0"
                            " -hls_segment_filename " + hls_dir + "/seg%d.ts " + hls_dir + "/list.m3u8";
    ASSERT_EQ(run(cmd), 0) << cmd;
  }
  for (const std::string& path : {cut, hls_dir + "/seg1.ts"}) {
    VideoReader reader = VideoReader::open(path);
    const std::int64_t count = reader.info().frame_count;
    EXPECT_EQ(count, ffprobe_frame_count(path)) << path;
    std::vector<std::int64_t> targets = sampling::uniform(count, 8);
    targets.insert(targets.begin(), 0);
    targets.push_back(count - 1);
    const DecodedFrames got = reader.frames_at(targets);
    for (std::int64_t distance : got.substituted) EXPECT_EQ(distance, 0) << path;
    expect_ffmpeg_frames(path, targets, got);
  }
}

// The presentation index of every frame ffprobe marks as a keyframe, default video stream.
std::vector<std::int64_t> ffprobe_key_frames(const std::string& path) {
  const std::string cmd = "ffprobe -v error -select_streams v:0 -show_entries frame=key_frame -of compact " + path +
                          " 2>/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run " + cmd);
  std::vector<std::int64_t> keys;
  const std::string prefix = "frame|key_frame=";
  char line[512];
  for (std::int64_t index = 0; fgets(line, sizeof(line), pipe);) {
    const std::string text(line);
    if (text.rfind(prefix, 0) != 0) continue;  // side data of the frame before
    if (text[prefix.size()] == '1') keys.push_back(index);
    ++index;
  }
  pclose(pipe);
  return keys;
}

// AVI keeps no presentation times; with B-frames the decoder reorders, so a keyframe's place
// among the frames is not its place in the file (MPEG-4 Part 2 sends two B-frames after each
// I-frame that are shown before it: an open GOP). Keyframe mode gives, for each target, the
// keyframe at or before it in presentation order (ffprobe's key_frame), decoding little more
// than that picture; exact mode seeks to those keyframes instead of decoding from the first
// frame. Pictures and times are ffmpeg's.
TEST(VideoAviBFramesTest, KeyframesInPresentationOrderAndSeeksInsteadOfDecodingFromTheStart) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"avi_open_gop.avi", source("160x120", 25, 10) + " -c:v mpeg4 -g 25 -bf 2"},
      {"avi_h264_bframes.avi", source("160x120", 25, 10) + " -c:v libx264 -g 25 -bf 3 -pix_fmt yuv420p"}};
  for (const auto& [name, args] : files) {
    const std::string path = make_video(name, args);
    const std::vector<std::int64_t> keys = ffprobe_key_frames(path);
    ASSERT_GT(keys.size(), 5u) << path;
    VideoOpenOptions keyframe_mode;
    keyframe_mode.seek = SeekMode::Keyframe;
    VideoReader fast = VideoReader::open(path, keyframe_mode);
    const std::int64_t count = fast.info().frame_count;
    ASSERT_EQ(count, ffprobe_frame_count(path)) << path;
    const std::vector<std::int64_t> targets = sampling::uniform(count, 8);
    const DecodedFrames got = fast.frames_at(targets);
    for (std::size_t k = 0; k < targets.size(); ++k) {
      const std::int64_t expected = *(std::upper_bound(keys.begin(), keys.end(), targets[k]) - 1);
      EXPECT_EQ(got.indices[k], expected) << path << ": the keyframe at or before " << targets[k];
    }
    expect_ffmpeg_frames(path, got.indices, got);
    EXPECT_LE(fast.last_stats().decoded_frames, 8) << path << ": one picture per keyframe";

    VideoReader exact = VideoReader::open(path);
    const DecodedFrames frames = exact.frames_at(targets);
    expect_ffmpeg_frames(path, targets, frames);
    EXPECT_GT(exact.last_stats().seeks, 1) << path;
    EXPECT_LT(exact.last_stats().decoded_frames, count / 2) << path << ": decoded from the first frame";
  }
}

// A program stream counted from its first frame, in keyframe mode: each target gets a frame
// at or before it where a keyframe is in the stream, not the first frame for every target, and
// the picture is ffmpeg's frame of the index reported.
TEST(VideoProgramStreamTest, CountedStreamsInKeyframeModeDoNotCollapseToTheFirstFrame) {
  const std::string path =
      make_video("counted_bframes.mpg", source("160x120", 25, 2) + " -c:v mpeg2video -g 25 -bf 2 -f vob");
  VideoOpenOptions keyframe_mode;
  keyframe_mode.seek = SeekMode::Keyframe;
  VideoReader reader = VideoReader::open(path, keyframe_mode);
  const std::vector<std::int64_t> targets = sampling::uniform(reader.info().frame_count, 4);
  const DecodedFrames got = reader.frames_at(targets);
  for (std::size_t k = 0; k < targets.size(); ++k) EXPECT_LE(got.indices[k], targets[k]);
  EXPECT_GT(got.indices.back(), 0) << "the second GOP's targets fell back to the first frame";
  expect_ffmpeg_frames(path, got.indices, got);
}

// The time of every frame the reader shows equals ffprobe's (best_effort_timestamp) for the
// same index: the whole index -> time map, not only the sampled frames'.
void expect_every_frame_time(const std::string& path, VideoReader& reader) {
  const std::int64_t count = reader.info().frame_count;
  std::vector<std::int64_t> all(static_cast<std::size_t>(count));
  for (std::int64_t i = 0; i < count; ++i) all[static_cast<std::size_t>(i)] = i;
  const DecodedFrames got = reader.frames_at(all);
  const std::vector<double> times = ffprobe_frame_times(path);
  ASSERT_EQ(times.size(), all.size()) << path;
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_NEAR(got.pts_seconds[i], times[i] - times[0], 1e-6) << path << ": frame " << i << "'s time";
  }
}

// MP4 / MOV open from their sample table (decode times, keyframes and the 'ctts' composition
// offsets; nothing read but the header and a few packets), and only where it is exact: the
// counts, frames and times equal ffmpeg's either way, and files the table could misdescribe
// (an edit list hiding samples, a cut file, fragments, leading pictures) are scanned, as is
// Matroska.
TEST(VideoSampleTableTest, UsedWhereExactAndEqualToTheScan) {
  const std::string x264 = " -c:v libx264 -pix_fmt yuv420p -g 20";
  const std::string no_b =
      make_video("table_no_b.mp4", source("160x120", 25, 4) + x264 + " -bf 0 -movflags +faststart");
  const std::string vfr = make_video("table_vfr.mov", source("160x120", 25, 4) +
                                                          " -vf setpts='if(lt(N\\,30)\\,N/25\\,30/25+(N-30)/8)/TB'"
                                                          " -fps_mode vfr" + x264 + " -bf 0");
  const std::string with_b = make_video("table_b.mp4", source("160x120", 25, 4) + x264 + " -bf 2");
  const std::string with_b_first =
      make_video("table_b_faststart.mp4", source("160x120", 25, 4) + x264 + " -bf 2 -movflags +faststart");
  // Offsets below zero ('ctts' version 1): FFmpeg shifts every presentation time.
  const std::string negative =
      make_video("table_b_negative.mp4", source("160x120", 25, 4) + x264 + " -bf 3 -movflags negative_cts_offsets");
  // Video as the second track, behind audio, at an NTSC rate.
  const std::string second_track = make_video(
      "table_b_second_track.mp4", "-f lavfi -i testsrc2=size=160x120:rate=30000/1001:duration=4 -f lavfi -i sine=duration=4 -map 1:a -map 0:v" +
                                      x264 + " -bf 3 -c:a aac");
  const std::string open_gop = make_video("table_open_gop.mov", source("160x120", 25, 4) + x264 + " -bf 2 -x264opts open_gop=1");
  const std::string hevc = make_video("table_hevc.mp4", source("160x120", 25, 4) +
                                                            " -c:v libx265 -x265-params log-level=error:keyint=20 -pix_fmt yuv420p");
  const std::string fragmented =
      make_video("table_fragmented.mp4", source("160x120", 25, 4) + x264 + " -bf 2 -movflags +frag_keyframe+empty_moov");
  const std::string trimmed = make_video("table_edit_list.mp4", "-ss 0.5 -i " + no_b + " -c copy -t 2");
  const std::string trimmed_b = make_video("table_b_edit_list.mp4", "-ss 0.5 -i " + with_b + " -c copy -t 2");
  const std::string mkv = make_video("table_no_b.mkv", "-i " + no_b + " -c copy");
  const std::string cut = video_dir() + "/table_b_cut.mp4";
  {
    std::ifstream in(with_b_first, std::ios::binary);  // the header first: a cut keeps it
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() * 2 / 3));
  }
  const std::vector<std::pair<std::string, std::string>> files = {
      {no_b, "sample table"},   {vfr, "sample table"},  {with_b, "sample table"}, {with_b_first, "sample table"}, {negative, "sample table"},
      {second_track, "sample table"}, {open_gop, "sample table"}, {hevc, "sample table"},
      {fragmented, "packets"},  {mkv, "packets"},       {cut, "packets"},
      {trimmed, ""}, {trimmed_b, ""}};  // "": whichever the edit list allows; the frames must be ffmpeg's
  for (const auto& [path, index] : files) {
    VideoReader reader = VideoReader::open(path);
    if (!index.empty()) {
      EXPECT_EQ(reader.info().frame_index, index) << path;
    }
    const std::int64_t count = reader.info().frame_count;
    EXPECT_EQ(count, ffprobe_frame_count(path)) << path << " (" << reader.info().frame_index << ")";
    std::vector<std::int64_t> targets = sampling::uniform(count, 6);
    targets.push_back(count - 1);
    expect_ffmpeg_frames(path, targets, reader.frames_at(targets));
    expect_every_frame_time(path, reader);
  }
}

// A frame whose picture the decoder cannot produce (its sample's bytes zeroed in an MJPEG MOV:
// the container still lists it, the decoder finds no JPEG there) is an error naming it; with
// OnMissing::Nearest the next picture stands in, reported with its index and distance, and
// the frames around it are untouched.
TEST(VideoMissingFrameTest, AnUndecodableFrameIsAnErrorOrAReportedSubstitution) {
  const std::string original = make_video("mjpeg_intact.mov", source("160x120", 25, 2) + " -c:v mjpeg");
  const std::string damaged = video_dir() + "/mjpeg_frame10_zeroed.mov";
  {
    const std::string cmd = "ffprobe -v error -select_streams v:0 -show_entries packet=pos,size -of csv=p=0 " +
                            original + " | sed -n 11p";
    FILE* pipe = popen(cmd.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    long long size = 0, pos = 0;
    ASSERT_EQ(fscanf(pipe, "%lld,%lld", &size, &pos), 2) << cmd;
    pclose(pipe);
    std::ifstream in(original, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_LE(pos + size, static_cast<long long>(bytes.size()));
    std::fill(bytes.begin() + pos, bytes.begin() + pos + size, '\0');
    std::ofstream(damaged, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  VideoReader strict = VideoReader::open(damaged);
  try {
    strict.frames_at({9, 10, 11});
    ADD_FAILURE() << "frame 10 has no picture, yet frames_at returned one";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("frame 10 of 50 cannot be decoded"), std::string::npos) << e.what();
  }
  VideoOpenOptions nearest;
  nearest.on_missing = VideoOpenOptions::OnMissing::Nearest;
  VideoReader lenient = VideoReader::open(damaged, nearest);
  const DecodedFrames got = lenient.frames_at({9, 10, 11});
  EXPECT_EQ(got.indices, (std::vector<std::int64_t>{9, 11, 11}));
  EXPECT_EQ(got.substituted, (std::vector<std::int64_t>{0, 1, 0}));
  EXPECT_NEAR(got.pts_seconds[1], 11 / 25.0, 1e-6);
  const std::size_t bytes = got.frames.nbytes() / 3;
  for (const auto& [row, frame] : {std::pair<std::size_t, std::int64_t>{0, 9}, {1, 11}, {2, 11}}) {
    const std::vector<std::uint8_t> expected = ffmpeg_frame(original, frame);
    ASSERT_EQ(expected.size(), bytes);
    EXPECT_EQ(std::memcmp(got.frames.data<std::uint8_t>() + row * bytes, expected.data(), bytes), 0)
        << "row " << row << " is not frame " << frame;
  }
}

// Streams where a seek does not land where the target can be decoded from: MPEG program
// streams with B-frames (VOB, DVD: the demuxer's seek lands after the GOP's I-frame), intra
// refresh (no keyframes after the first: recovery points), open GOPs (the decoder withholds
// the last pictures after a seek to the last I-frame). Every frame must still be the one asked
// for, as ffmpeg decodes it.
TEST(VideoProgramStreamTest, BFramesAndDvdGiveFfmpegsFramesByIndex) {
  const std::vector<std::pair<std::string, std::string>> files = {
      {"ps_bframes.mpg", "-f lavfi -i testsrc2=size=320x240:rate=25:duration=5 -c:v mpeg2video -b:v 2M -bf 2 -g 12 "
                         "-f vob"},
      {"dvd.vob", "-f lavfi -i testsrc2=size=720x576:rate=25:duration=6 -target pal-dvd"},
      {"intra_refresh.mp4", source("320x240", 25, 5) + " -c:v libx264 -x264-params intra-refresh=1:keyint=50 "
                                                       "-pix_fmt yuv420p"},
      {"open_gop.mkv", source("320x240", 25, 5) + " -c:v libx264 -x264-params open-gop=1:keyint=25 -bf 3 "
                                                  "-pix_fmt yuv420p"}};
  for (const auto& [name, args] : files) {
    const std::string path = make_video(name, args);
    VideoReader reader = VideoReader::open(path);
    const std::int64_t count = reader.info().frame_count;
    std::vector<std::int64_t> targets = sampling::uniform(count, 8);
    targets.push_back(count - 1);
    expect_ffmpeg_frames(path, targets, reader.frames_at(targets));
    // Where a seek to the keyframe before the last frame does not reach it (a DVD's demuxer
    // lands after the GOP's I-frame; intra refresh's key pictures are recovery points), one
    // keyframe earlier does: the file is not read again from its first byte.
    expect_ffmpeg_frames(path, {count - 1}, reader.frames_at({count - 1}));
    EXPECT_LT(reader.last_stats().decoded_frames, count / 2) << path << ": decoded from the first frame";
  }
}

// 10-bit video with rotation (phones' HDR portrait video): ffmpeg turns the picture in its
// own pixel format, then converts it to 8-bit RGB with position-dependent dithering, so the
// pixels are ffmpeg's only when the reader turns it first too.
TEST(VideoRotationTest, TenBitRotatedFramesAreFfmpegs) {
  for (const char* format : {"yuv420p10le", "yuv444p10le"}) {
    const std::string base = make_video(std::string("ten_bit_") + format + ".mp4",
                                        source("322x242", 25, 1) + " -c:v libx264 -pix_fmt " + format);
    for (const int rotate : {90, 180, 270}) {
      const std::string path = make_video(std::string("ten_bit_") + format + "_" + std::to_string(rotate) + ".mp4",
                                          "-i " + base + " -c copy -metadata:s:v:0 rotate=" + std::to_string(rotate));
      VideoReader reader = VideoReader::open(path);
      expect_ffmpeg_frames(path, {0, 13, 24}, reader.frames_at({0, 13, 24}));
    }
  }
}

// A file cut inside its last sample: that sample cannot be decoded and is not a frame (as
// ffprobe -count_frames counts); every frame counted can be read.
TEST(VideoTruncatedTest, TheCutSampleIsNotCounted) {
  const std::string full = make_video("faststart.mp4", source("320x240", 25, 4) +
                                                           " -c:v libx264 -pix_fmt yuv420p -movflags +faststart");
  const std::string cut = video_dir() + "/faststart_cut.mp4";
  {
    std::ifstream in(full, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(cut, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() - 3000));
  }
  VideoReader reader = VideoReader::open(cut);
  EXPECT_EQ(reader.info().frame_count, ffprobe_frame_count(cut));
  EXPECT_NO_THROW(reader.frames_at({reader.info().frame_count - 1}));

  // A damaged sample table (stts zeroed: no sample has a duration or a count) lists no frame:
  // an error naming the file, not a video of 0 frames at 12,800 fps.
  const std::string damaged = video_dir() + "/faststart_stts_zeroed.mp4";
  {
    std::ifstream in(full, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t stts = bytes.find("stts");
    ASSERT_NE(stts, std::string::npos);
    bytes.replace(stts + 4, 36, 36, '\0');
    std::ofstream(damaged, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  try {
    VideoReader::open(damaged);
    ADD_FAILURE() << "a file with no readable frame opened";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("faststart_stts_zeroed.mp4: the video stream has no frame"), std::string::npos)
        << e.what();
  }
}

// A stream that changes resolution (adaptive HLS, live streams): through a FrameSink each
// frame comes at its own size, equal to ffmpeg's decoding of the part it belongs to; a plain
// frames_at (one tensor, one size) refuses with a message saying so.
TEST(VideoResolutionChangeTest, EachFrameAtItsOwnSize) {
  const std::string x264 = " -c:v libx264 -x264-params repeat-headers=1 -g 10 -bf 0 -pix_fmt yuv420p -f mpegts";
  const std::string big = make_video("res_a.ts", source("320x240", 25, 2) + x264);
  const std::string small = make_video("res_b.ts", source("160x120", 25, 2) + x264 + " -output_ts_offset 2");
  const std::string both = video_dir() + "/res_change.ts";
  {
    std::ofstream out(both, std::ios::binary);
    for (const std::string& part : {big, small}) {
      std::ifstream in(part, std::ios::binary);
      out << in.rdbuf();
    }
  }
  VideoReader reader = VideoReader::open(both);
  ASSERT_EQ(reader.info().frame_count, 100);
  std::map<std::size_t, std::pair<int, int>> sizes;
  std::map<std::size_t, std::vector<std::uint8_t>> pixels;
  const std::vector<std::int64_t> targets = {0, 49, 50, 99};
  reader.frames_at(targets, [&](const std::vector<std::size_t>& rows, const std::uint8_t* rgb, int h, int w, double) {
    for (std::size_t row : rows) {
      sizes[row] = {h, w};
      pixels[row].assign(rgb, rgb + static_cast<std::size_t>(h) * w * 3);
    }
  });
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const bool first_part = targets[k] < 50;
    EXPECT_EQ(sizes[k], first_part ? std::pair(240, 320) : std::pair(120, 160)) << "frame " << targets[k];
    EXPECT_EQ(pixels[k], ffmpeg_frame(first_part ? big : small, first_part ? targets[k] : targets[k] - 50))
        << "frame " << targets[k];
  }
  try {
    reader.frames_at(targets);
    ADD_FAILURE() << "frames of two sizes in one tensor";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("own size"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace xclip::test
