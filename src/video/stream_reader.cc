#include "video/stream_reader.h"

extern "C" {
#include <libavutil/dict.h>
}

#include <chrono>
#include <deque>
#include <filesystem>

#include "core/check.h"
#include "video/ffmpeg_handles.h"
#include "video/frame_converter.h"

namespace xclip::video {

namespace {

using Clock = std::chrono::steady_clock;

// FFmpeg polls this during every blocking call: past the deadline, or once stopped, the call
// returns AVERROR_EXIT instead of waiting on a silent source.
struct Deadline {
  Clock::time_point at = Clock::time_point::max();
  const std::atomic<bool>* stop = nullptr;
  void in(double seconds) {
    at = Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(seconds * 1e6));
  }
};

int interrupted(void* opaque) {
  const auto* d = static_cast<const Deadline*>(opaque);
  return (d->stop && d->stop->load()) || Clock::now() > d->at ? 1 : 0;
}

std::string ffmpeg_url(const std::string& source) { return source == "-" ? "pipe:0" : source; }

}  // namespace

bool is_local_source(const std::string& source) {
  if (source == "-" || source.rfind("pipe:", 0) == 0 || source.rfind("file:", 0) == 0) return true;
  if (source.find("://") != std::string::npos) return false;
  std::error_code ec;
  return !std::filesystem::is_character_file(source, ec);  // /dev/video0 is a device
}

struct StreamReader::Impl {
  std::string source;
  StreamOptions options;
  Deadline deadline;
  FormatContextPtr format;
  CodecContextPtr codec;
  AVStream* stream = nullptr;
  int stream_index = -1;
  std::unique_ptr<FrameConverter> converter;
  PacketPtr packet{av_packet_alloc()};
  FramePtr decoded{av_frame_alloc()};
  bool input_done = false, drained = false;
  std::int64_t corrupt = 0;
  std::int64_t last_pts = AV_NOPTS_VALUE;

  [[noreturn]] void fail(const std::string& what, int err) {
    if (err == AVERROR_EXIT && options.stop && options.stop->load())
      XCLIP_FAIL(IoError) << source << ": stopped while " << what;
    if (err == AVERROR_EXIT)
      XCLIP_FAIL(IoError) << source << ": no answer while " << what << " (timed out)";
    XCLIP_FAIL(IoError) << source << ": " << what << " failed: " << av_error_text(err);
  }

  void open() {
    av_log_set_level(AV_LOG_FATAL);  // errors reach the caller as exceptions, not as log lines
    AVFormatContext* raw = avformat_alloc_context();
    XCLIP_CHECK(raw != nullptr, Error) << "out of memory opening " << source;
    deadline.stop = options.stop;
    raw->interrupt_callback.callback = interrupted;
    raw->interrupt_callback.opaque = &deadline;
    AVDictionary* opts = nullptr;
    if (options.follow) {
      av_dict_set(&opts, "follow", "1", 0);  // the file protocol waits at the end for more
      // Probing reads until it has this many bytes: at the end of a followed file it would wait
      // for data that may never come. Small probes start the watch on what is there.
      av_dict_set(&opts, "formatprobesize", "32768", 0);
      av_dict_set(&opts, "probesize", "65536", 0);
      // Estimating the duration reads the end of the file, which a followed file never reaches.
      av_dict_set(&opts, "skip_estimate_duration_from_pts", "1", 0);
    } else {
      // Protocol-level timeouts too (microseconds), so a socket read never outlives the deadline.
      av_dict_set(&opts, "rw_timeout",
                  std::to_string(static_cast<std::int64_t>(options.read_timeout_seconds * 1e6)).c_str(), 0);
    }
    deadline.in(options.open_timeout_seconds);
    int err = avformat_open_input(&raw, ffmpeg_url(source).c_str(), nullptr, &opts);
    av_dict_free(&opts);
    if (err < 0) fail("opening", err);  // avformat_open_input freed `raw`
    format.reset(raw);
    err = avformat_find_stream_info(raw, nullptr);
    if (err < 0) fail("reading the stream information", err);
    stream_index = av_find_best_stream(raw, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
    XCLIP_CHECK(stream_index >= 0, FormatError) << source << ": no video stream";
    stream = raw->streams[stream_index];
    const AVCodecParameters* par = stream->codecpar;
    const AVCodec* decoder = avcodec_find_decoder(par->codec_id);
    XCLIP_CHECK(decoder != nullptr, UnsupportedError)
        << source << ": no decoder for codec '" << avcodec_get_name(par->codec_id) << "' in this FFmpeg build";
    codec.reset(avcodec_alloc_context3(decoder));
    XCLIP_CHECK(codec != nullptr, Error) << "out of memory opening " << source;
    err = avcodec_parameters_to_context(codec.get(), par);
    if (err < 0) fail("reading codec parameters", err);
    // Slice threads only: frame threads would hold frames back, adding latency.
    codec->thread_type = FF_THREAD_SLICE;
    check_pixel_limit(source, par->width, par->height, options.limits);
    codec->max_pixels = options.limits.max_pixels;
    err = avcodec_open2(codec.get(), decoder, nullptr);
    if (err < 0) fail("opening the " + std::string(decoder->name) + " decoder", err);
    converter = std::make_unique<FrameConverter>(source, options.limits);
    converter->set_rotation(rotation_of(stream));
    for (unsigned i = 0; i < raw->nb_streams; ++i)
      if (static_cast<int>(i) != stream_index) raw->streams[i]->discard = AVDISCARD_ALL;
  }

  // Feeds the decoder one packet of the video stream; false at the end of the input.
  bool feed() {
    for (;;) {
      // A followed file may pause for as long as it likes: only a stop ends the wait.
      if (options.follow)
        deadline.at = Clock::time_point::max();
      else
        deadline.in(options.read_timeout_seconds);
      const int err = av_read_frame(format.get(), packet.get());
      if (err == AVERROR_EOF) return false;
      if (err < 0) fail("reading", err);
      if (packet->stream_index != stream_index) {
        av_packet_unref(packet.get());
        continue;
      }
      const int sent = avcodec_send_packet(codec.get(), packet.get());
      av_packet_unref(packet.get());
      if (sent == AVERROR_INVALIDDATA) {
        ++corrupt;  // a damaged packet: the decoder resynchronises at the next good one
        continue;
      }
      if (sent < 0 && sent != AVERROR(EAGAIN)) fail("decoding", sent);
      return true;
    }
  }

  bool next(StreamFrame& out) {
    for (;;) {
      const int got = avcodec_receive_frame(codec.get(), decoded.get());
      if (got == 0) {
        if (take(out)) return true;
        continue;
      }
      if (got == AVERROR_EOF) return false;
      if (got == AVERROR_INVALIDDATA) {
        ++corrupt;
        continue;
      }
      if (got != AVERROR(EAGAIN)) fail("decoding", got);
      if (input_done) return false;
      if (!feed()) {
        input_done = true;
        avcodec_send_packet(codec.get(), nullptr);  // drain what the decoder holds
      }
    }
  }

  // The decoded frame as RGB with its timestamp; false for a frame to drop (no usable time,
  // or a picture the decoder marked broken).
  bool take(StreamFrame& out) {
    // The decoder's frame is released however this ends (a conversion may throw).
    struct Release {
      AVFrame* frame;
      ~Release() { av_frame_unref(frame); }
    } release{decoded.get()};
    const AVFrame* hold = decoded.get();
    if (hold->decode_error_flags != 0 || (hold->flags & AV_FRAME_FLAG_CORRUPT)) {
      ++corrupt;
      return false;
    }
    std::int64_t pts = hold->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) {
      // No timestamp: one frame duration after the last one.
      if (last_pts == AV_NOPTS_VALUE) return false;
      const AVRational rate = stream->avg_frame_rate.num > 0 ? stream->avg_frame_rate : stream->r_frame_rate;
      const double step = rate.num > 0 ? 1.0 / av_q2d(rate) / av_q2d(stream->time_base) : 1.0;
      pts = last_pts + std::max<std::int64_t>(1, static_cast<std::int64_t>(step));
    }
    last_pts = pts;
    const auto [h, w] = converter->displayed_size(hold);
    out.pts = pts;
    out.time_base = av_q2d(stream->time_base);
    out.height = h;
    out.width = w;
    out.rgb.resize(static_cast<std::size_t>(h) * w * 3);
    converter->convert(hold, out.rgb.data());
    return true;
  }
};

std::unique_ptr<StreamReader> StreamReader::open(const std::string& source, const StreamOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->source = source;
  impl->options = options;
  impl->open();
  return std::unique_ptr<StreamReader>(new StreamReader(std::move(impl)));
}

StreamReader::StreamReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StreamReader::~StreamReader() = default;
bool StreamReader::next(StreamFrame& frame) { return impl_->next(frame); }
const std::string& StreamReader::source() const { return impl_->source; }
std::int64_t StreamReader::corrupt_packets() const { return impl_->corrupt; }
double StreamReader::average_fps() const {
  const AVRational rate = impl_->stream->avg_frame_rate;
  return rate.num > 0 && rate.den > 0 ? av_q2d(rate) : 0.0;
}

}  // namespace xclip::video
