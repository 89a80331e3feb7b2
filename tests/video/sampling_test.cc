// Samplers are pure functions: checked on their own.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "video/display_order.h"
#include "video/stretch_plan.h"
#include "xclip/error.h"
#include "xclip/video.h"

namespace xclip::sampling {
namespace {

TEST(SamplingTest, UniformTakesSegmentMiddles) {
  EXPECT_EQ(uniform(80, 8), (std::vector<std::int64_t>{5, 15, 25, 35, 45, 55, 65, 75}));
  EXPECT_EQ(uniform(120, 8), (std::vector<std::int64_t>{7, 22, 37, 52, 67, 82, 97, 112}));
  EXPECT_EQ(uniform(1, 4), (std::vector<std::int64_t>{0, 0, 0, 0}));
  EXPECT_EQ(uniform(3, 6), (std::vector<std::int64_t>{0, 0, 1, 1, 2, 2}));  // short videos repeat frames
}

TEST(SamplingTest, UniformClipsShiftInsideSegments) {
  const auto clips = uniform_clips(80, 8, 2);
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0], (std::vector<std::int64_t>{2, 12, 22, 32, 42, 52, 62, 72}));
  EXPECT_EQ(clips[1], (std::vector<std::int64_t>{7, 17, 27, 37, 47, 57, 67, 77}));
  EXPECT_EQ(uniform_clips(80, 8, 1)[0], uniform(80, 8));
}

TEST(SamplingTest, ConsecutiveFollowsTheSeedsFormula) {
  // Window of clip_len · rate frames ending at a random end in [converted, frame_count).
  for (std::uint64_t seed : {0u, 1u, 7u}) {
    const auto idx = consecutive(300, 8, 2, seed);
    ASSERT_EQ(idx.size(), 8u);
    // np.linspace(start, start + 16, 8) clipped to start + 15, truncated: steps of 16/7.
    const std::int64_t start = idx[0];
    for (std::size_t i = 0; i < idx.size(); ++i)
      EXPECT_EQ(idx[i], std::min<std::int64_t>(start + static_cast<std::int64_t>(16.0 * i / 7.0), start + 15)) << "seed " << seed;
    EXPECT_GE(idx.front(), 0);
    EXPECT_LT(idx.back(), 300);
  }
  EXPECT_EQ(consecutive(300, 8, 2, 5), consecutive(300, 8, 2, 5));  // deterministic per seed
  // Shorter than the window: indices stay inside the video.
  for (std::int64_t i : consecutive(5, 8, 1, 0)) EXPECT_LT(i, 5);
  // linspace(start, end, 8) with rate 4: the np.linspace spacing (32/7) truncated.
  const auto wide = consecutive(33, 8, 4, 0);
  EXPECT_EQ(wide, (std::vector<std::int64_t>{0, 4, 9, 13, 18, 22, 27, 31}));
}

TEST(SamplingTest, RandomPicksOnePerSegment) {
  const auto idx = random(80, 8, 3);
  ASSERT_EQ(idx.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_GE(idx[i], i * 10);
    EXPECT_LT(idx[i], (i + 1) * 10);
  }
  EXPECT_EQ(random(80, 8, 3), idx);
  EXPECT_NE(random(80, 8, 4), idx);
}

TEST(SamplingTest, OffsetAndErrors) {
  EXPECT_EQ(offset({0, 2}, 10), (std::vector<std::int64_t>{10, 12}));
  EXPECT_THROW(uniform(0, 8), InvalidArgument);
  EXPECT_THROW(uniform(10, 0), InvalidArgument);
  EXPECT_THROW(consecutive(10, 4, 0, 0), InvalidArgument);
  EXPECT_THROW(uniform_clips(10, 4, 0), InvalidArgument);
}

}  // namespace
}  // namespace xclip::sampling

// The stretch planner: which targets one decoder reads without seeking, and when several
// decoders pay off (no file, no FFmpeg: keyframes every 10 frames here).
namespace xclip::video {
namespace {

std::int64_t keyframe_every_10(std::int64_t t) { return t / 10 * 10; }

TEST(StretchPlanTest, ANewStretchStartsWhereDecodingOnWouldCostMoreThanASeek) {
  const auto s = plan_stretches({2, 5, 12, 35, 38, 41, 43}, keyframe_every_10);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].targets, (std::vector<std::int64_t>{2, 5}));  // from keyframe 0
  EXPECT_EQ(s[0].frames, 6);
  EXPECT_EQ(s[1].targets, (std::vector<std::int64_t>{12}));  // keyframe 10 lies beyond 5
  EXPECT_EQ(s[1].frames, 3);
  EXPECT_EQ(s[2].targets, (std::vector<std::int64_t>{35, 38}));
  EXPECT_EQ(s[2].frames, 9);
  EXPECT_EQ(s[3].targets, (std::vector<std::int64_t>{41, 43}));
  EXPECT_EQ(s[3].frames, 4);
  // A stream counted from its start (decode_start 0 everywhere) is one stretch.
  const auto one = plan_stretches({3, 50, 99}, [](std::int64_t) { return std::int64_t{0}; });
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].frames, 100);
}

TEST(StretchPlanTest, SeveralDecodersOnlyWhenBalancedAndWorthAnOpen) {
  const std::vector<Stretch> even = {{{9}, 100}, {{109}, 100}, {{209}, 100}, {{309}, 100}};
  DecoderChoice c;
  c.cores = 2;
  c.frame_pixels = 1920.0 * 1080;
  EXPECT_EQ(busiest_load(even, 2), 200);
  EXPECT_EQ(decoder_count(even, c), 2);
  c.max_decoders = 1;  // --threads 1
  EXPECT_EQ(decoder_count(even, c), 1);
  c.max_decoders = 0;
  c.counted_by_decoding = true;
  EXPECT_EQ(decoder_count(even, c), 1);
  c.counted_by_decoding = false;
  c.frame_pixels = 64.0 * 48;  // tiny frames: the open costs more than it saves
  EXPECT_EQ(decoder_count(even, c), 1);
  c.frame_pixels = 1920.0 * 1080;
  const std::vector<Stretch> lopsided = {{{999}, 1000}, {{5}, 10}};
  EXPECT_EQ(decoder_count(lopsided, c), 1);  // the busiest decoder would do nearly everything
  EXPECT_EQ(decoder_count({{{5}, 10}}, c), 1);
}

// Decode order of an MPEG-4 Part 2 open GOP: I0 P1 B2 B3 P4 B5 B6 I7 B8 B9 P10 (the B-frames
// after I7 are shown before it), decode timestamps 0..10.
std::vector<CodedPicture> pictures(const std::string& types, const std::string& keys) {
  std::vector<CodedPicture> out;
  for (std::size_t i = 0; i < types.size(); ++i)
    out.push_back({types[i], keys[i] == 'K', static_cast<std::int64_t>(i)});
  return out;
}

TEST(DisplayOrderTest, AnAnchorIsShownAfterTheBPicturesSentRightAfterIt) {
  const auto open_gop = pictures("IPBBPBBIBBP", "K......K...");
  EXPECT_EQ(keyframe_display_indices(open_gop, true), (std::map<std::int64_t, std::int64_t>{{0, 0}, {9, 7}}));
  // Where B-pictures may be references (H.264), only keyframes no B-picture follows are placed.
  EXPECT_EQ(keyframe_display_indices(open_gop, false), (std::map<std::int64_t, std::int64_t>{{0, 0}}));
  const auto closed = pictures("IPBBPBBIPBB", "K......K...");
  EXPECT_EQ(keyframe_display_indices(closed, false), (std::map<std::int64_t, std::int64_t>{{0, 0}, {7, 7}}));
}

TEST(DisplayOrderTest, UnknownTypesOrTimestampsThatDoNotIncreasePlaceNothing) {
  EXPECT_TRUE(keyframe_display_indices(pictures("IP?B", "K..."), true).empty());
  auto back = pictures("IPBB", "K...");
  back[2].dts = 0;
  EXPECT_TRUE(keyframe_display_indices(back, true).empty());
}

}  // namespace
}  // namespace xclip::video
