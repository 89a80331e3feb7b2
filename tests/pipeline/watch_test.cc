// The watcher against classify: on a file, every window's probabilities and query logits are
// what Workflow::classify gives for the same time range; the hysteresis rules on score
// sequences; bad options and sources refused with clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "support/error_of.h"
#include "support/index_fixtures.h"
#include "support/test_paths.h"
#include "xclip/xclip.h"

namespace xclip::test {
namespace {

namespace fs = std::filesystem;

// 6 s of one pattern then 6 s of another, 10 fps, short GOPs with B-frames.
std::string switching_video() {
  const std::string path = scratch_dir() + "/watch_switch.mp4";
  if (!fs::exists(path))
    run_shell("ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=160x120:rate=10:duration=6 -f lavfi -i "
              "smptebars=size=160x120:rate=10:duration=6 -filter_complex '[0:v][1:v]concat=n=2:v=1,hue=H=t*0.4' "
              "-c:v libx264 -g 12 -bf 2 -pix_fmt yuv420p " + path);
  return path;
}

WatchOptions watch_options() {
  WatchOptions o;
  o.model = model_dir("tiny");
  o.labels = {"a test pattern", "colour bars", "a dog"};
  o.queries = {"something moving"};
  o.window_seconds = 2.0;
  o.stride_seconds = 0.7;
  return o;
}

TEST(Watch, WindowsOfAFileAreClassifysScores) {
  const std::string video = switching_video();
  const WatchOptions o = watch_options();
  std::vector<WatchRecord> windows;
  Watcher watcher(o);
  const WatchSummary s = watcher.run(video, [&](const WatchRecord& r) {
    if (r.type == WatchRecordType::Window) windows.push_back(r);
  });
  EXPECT_EQ(s.frames, 120);
  EXPECT_EQ(s.skipped, 0);  // a file is never skipped
  ASSERT_GE(windows.size(), 16u);
  Workflow workflow(o.model);
  std::vector<std::string> texts = o.labels;
  texts.push_back(o.queries[0]);
  for (const WatchRecord& w : windows) {
    WorkflowOptions wo;
    wo.sampling.start = w.start;
    wo.sampling.end = w.end;
    Workflow ranged(o.model, wo);
    VideoResult result;
    ranged.classify({video}, texts, [&](const VideoResult& r) { result = r; });
    ASSERT_TRUE(result.ok()) << result.error;
    EXPECT_EQ(result.frame_indices.front(), w.frames) << "window " << w.window;
    // Probabilities over the labels alone (the query is scored by itself).
    const std::vector<double> p = softmax(result.logits.data(), o.labels.size());
    for (std::size_t i = 0; i < o.labels.size(); ++i) {
      EXPECT_NEAR(w.labels[i].score, p[i], 1e-5) << "window " << w.window << " label " << i;
      EXPECT_NEAR(w.labels[i].logit, result.logits[i], 1e-5) << "window " << w.window << " label " << i;
    }
    EXPECT_NEAR(w.queries[0].score, result.logits[3], 1e-5) << "window " << w.window;
  }
}

std::vector<std::optional<EventTracker::Transition>> feed_all(EventTracker& t, const std::vector<double>& scores) {
  std::vector<std::optional<EventTracker::Transition>> out;
  for (std::size_t k = 0; k < scores.size(); ++k)
    out.push_back(t.feed(static_cast<std::int64_t>(k), static_cast<double>(k), k + 2.0, scores[k]));
  return out;
}

TEST(EventTracker, StartsAfterHoldWindowsAndEndsUnderOff) {
  EventTracker t(EventOptions{0.6, 2, 0.4, 0});
  const auto out = feed_all(t, {0.1, 0.7, 0.3, 0.7, 0.8, 0.5, 0.45, 0.9, 0.39, 0.2});
  // 0.7 alone (window 1) is not enough; windows 3-4 start it at 3; 0.5 and 0.45 keep it (>= off);
  // 0.39 at window 8 ends it at the end of window 7.
  for (std::size_t k : {0u, 1u, 2u, 3u, 5u, 6u, 7u, 9u}) EXPECT_FALSE(out[k].has_value()) << k;
  ASSERT_TRUE(out[4] && out[4]->started);
  EXPECT_EQ(out[4]->start, 3.0);
  EXPECT_EQ(out[4]->peak, 0.8);
  ASSERT_TRUE(out[8] && !out[8]->started);
  EXPECT_EQ(out[8]->start, 3.0);
  EXPECT_EQ(out[8]->end, 9.0);
  EXPECT_EQ(out[8]->peak, 0.9);
  EXPECT_EQ(out[8]->peak_window, 7);
  EXPECT_FALSE(t.close().has_value());
}

TEST(EventTracker, FlickeringScoresGiveOneEventNotMany) {
  EventTracker t(EventOptions{0.6, 1, 0.3, 0});
  int events = 0;
  for (const auto& tr : feed_all(t, {0.7, 0.5, 0.65, 0.4, 0.7, 0.35, 0.8, 0.2}))
    events += tr && tr->started;
  EXPECT_EQ(events, 1);  // between off and on it stays one event
}

TEST(EventTracker, CooldownAndClose) {
  EventTracker t(EventOptions{0.5, 1, 0.5, 4.0});
  const auto out = feed_all(t, {0.9, 0.1, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9});
  ASSERT_TRUE(out[0] && out[0]->started);
  ASSERT_TRUE(out[1] && !out[1]->started);
  EXPECT_EQ(out[1]->end, 2.0);
  // Ended at 2 s: nothing starts before 6 s.
  for (std::size_t k = 2; k < 6; ++k) EXPECT_FALSE(out[k].has_value()) << k;
  ASSERT_TRUE(out[6] && out[6]->started);
  EXPECT_EQ(out[6]->start, 6.0);
  const auto closed = t.close();
  ASSERT_TRUE(closed && !closed->started);
  EXPECT_EQ(closed->end, 9.0);
}

TEST(Watch, BadOptionsAndSources) {
  WatchOptions o = watch_options();
  o.events.off = 0.9;
  EXPECT_NE(error_of([&] { Watcher w(o); }).find("must not exceed the on threshold"), std::string::npos);
  o = watch_options();
  o.stride_seconds = 3;
  EXPECT_NE(error_of([&] { Watcher w(o); }).find("longer than the window"), std::string::npos);
  o = watch_options();
  o.labels.clear();
  o.queries.clear();
  EXPECT_NE(error_of([&] { Watcher w(o); }).find("nothing to watch for"), std::string::npos);
  o = watch_options();
  o.open_timeout_seconds = o.read_timeout_seconds = 1;
  Watcher watcher(o);
  const std::string missing = error_of([&] { watcher.run(scratch_dir() + "/no-such-video.mp4", [](const WatchRecord&) {}); });
  EXPECT_NE(missing.find("no-such-video.mp4"), std::string::npos) << missing;
  const std::string text = scratch_dir() + "/not-a-video.txt";
  run_shell("echo hello > " + text);
  EXPECT_NE(error_of([&] { watcher.run(text, [](const WatchRecord&) {}); }).find("not-a-video.txt"), std::string::npos);
}

}  // namespace
}  // namespace xclip::test
