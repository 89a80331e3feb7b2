// Frame sampling speed: T uniform frames of a long video with VideoReader (exact and keyframe
// seeking) against the seed's method (decode every frame from the start up to the last wanted
// one, converting only the wanted ones), both on the same FFmpeg build and threads, in one
// run. bench/video/pyav_exact.py adds PyAV's exact per-target strategy (run_video_bench.sh).
//
//   xclip_bench_video VIDEO [--frames 8,16,32] [--iters N]
//   xclip_bench_video VIDEO --indices T      (prints T uniform indices, comma-separated)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}

#include "common/bench_util.h"
#include "xclip/xclip.h"

namespace {

using Clock = std::chrono::steady_clock;

// The seed's read_video_pyav: decode from the start, keep frames whose index is wanted.
// `frame_threads` = false is PyAV's default decoder set-up (slice threading only).
int sequential_decode(const std::string& path, const std::vector<std::int64_t>& indices, bool frame_threads) {
  AVFormatContext* fmt = nullptr;
  if (avformat_open_input(&fmt, path.c_str(), nullptr, nullptr) < 0) return -1;
  avformat_find_stream_info(fmt, nullptr);
  const int s = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  const AVCodec* dec = avcodec_find_decoder(fmt->streams[s]->codecpar->codec_id);
  AVCodecContext* ctx = avcodec_alloc_context3(dec);
  avcodec_parameters_to_context(ctx, fmt->streams[s]->codecpar);
  ctx->thread_count = 0;
  ctx->thread_type = frame_threads ? FF_THREAD_FRAME | FF_THREAD_SLICE : FF_THREAD_SLICE;
  avcodec_open2(ctx, dec, nullptr);
  const std::set<std::int64_t> wanted(indices.begin(), indices.end());
  const std::int64_t last = *wanted.rbegin();
  AVPacket* pkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  SwsContext* sws = nullptr;
  std::vector<std::uint8_t> rgb;
  std::int64_t n = 0;
  int kept = 0;
  bool done = false;
  while (!done && av_read_frame(fmt, pkt) >= 0) {
    if (pkt->stream_index == s) avcodec_send_packet(ctx, pkt);
    av_packet_unref(pkt);
    while (avcodec_receive_frame(ctx, frame) == 0) {
      if (wanted.count(n)) {
        sws = sws_getCachedContext(sws, frame->width, frame->height, static_cast<AVPixelFormat>(frame->format), frame->width,
                                   frame->height, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr);
        rgb.resize(static_cast<std::size_t>(frame->width) * frame->height * 3);
        std::uint8_t* dst[4] = {rgb.data(), nullptr, nullptr, nullptr};
        int stride[4] = {frame->width * 3, 0, 0, 0};
        sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, stride);
        ++kept;
      }
      if (n++ >= last) done = true;
    }
  }
  sws_freeContext(sws);
  av_frame_free(&frame);
  av_packet_free(&pkt);
  avcodec_free_context(&ctx);
  avformat_close_input(&fmt);
  return kept;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: xclip_bench_video VIDEO [--frames 8,16,32] [--iters N]\n");
    return 2;
  }
  const std::string path = argv[1];
  std::vector<int> counts = {8, 16, 32};
  int iters = 3;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--iters") iters = std::stoi(v);
    if (k == "--frames") {
      counts.clear();
      std::stringstream ss(v);
      std::string item;
      while (std::getline(ss, item, ',')) counts.push_back(std::stoi(item));
    }
  }
  try {
    if (argc == 4 && std::string(argv[2]) == "--indices") {
      const auto indices = xclip::sampling::uniform(xclip::VideoReader::open(path).info().frame_count, std::stoi(argv[3]));
      for (std::size_t i = 0; i < indices.size(); ++i) std::printf("%s%lld", i ? "," : "", static_cast<long long>(indices[i]));
      std::printf("\n");
      return 0;
    }
    const auto t_open = Clock::now();
    xclip::VideoReader probe = xclip::VideoReader::open(path);
    const double open_ms = std::chrono::duration<double, std::milli>(Clock::now() - t_open).count();
    const xclip::VideoInfo info = probe.info();
    std::printf("video: %s, %dx%d %s, %.1f s, %lld frames (open + packet scan %.1f ms)\n", path.c_str(), info.width,
                info.height, info.codec.c_str(), info.duration_seconds, static_cast<long long>(info.frame_count), open_ms);
    std::printf("%8s %14s %22s %9s %22s %9s %9s %7s %16s %12s\n", "frames", "xclip.cpp ms", "sequential (PyAV) ms",
                "speed-up", "sequential (frame-thr)", "speed-up", "decoded", "seeks", "keyframe mode ms", "vs full");
    std::printf("(decoded/seeks: xclip.cpp's exact mode; vs full: a full frame-threaded decode over keyframe mode)\n");
    for (int t : counts) {
      const auto indices = xclip::sampling::uniform(info.frame_count, t);
      xclip::VideoReader::Stats stats;
      const double ours = xclip::bench::median_ms(iters, [&] {
        xclip::VideoReader r = xclip::VideoReader::open(path);  // open + scan included
        r.frames_at(indices);
        stats = r.last_stats();
      });
      const double pyav = xclip::bench::median_ms(iters, [&] { sequential_decode(path, indices, false); });
      const double threaded = xclip::bench::median_ms(iters, [&] { sequential_decode(path, indices, true); });
      xclip::VideoOpenOptions keyframe;
      keyframe.seek = xclip::SeekMode::Keyframe;
      const double keyframes = xclip::bench::median_ms(iters, [&] {
        xclip::VideoReader r = xclip::VideoReader::open(path, keyframe);
        r.frames_at(indices);
      });
      // A full sequential decode: every frame, the fastest threading (frame + slice).
      const double full = xclip::bench::median_ms(iters, [&] { sequential_decode(path, {info.frame_count - 1}, true); });
      std::printf("%8d %14.1f %22.1f %8.2fx %22.1f %8.2fx %9lld %7lld %16.1f %11.1fx\n", t, ours, pyav, pyav / ours,
                  threaded, threaded / ours, static_cast<long long>(stats.decoded_frames),
                  static_cast<long long>(stats.seeks), keyframes, full / keyframes);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "xclip_bench_video: %s\n", e.what());
    return 1;
  }
  return 0;
}
