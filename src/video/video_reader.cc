// VideoReader on FFmpeg: packet scan for an exact index -> timestamp map, keyframe seeking,
// threaded decoding, RGB conversion of the wanted frames only, rotation metadata applied.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
}

#include "core/check.h"
#include "video/ffmpeg_handles.h"
#include "video/frame_converter.h"
#include "video/mp4_composition_offsets.h"
#include "video/picture_types.h"
#include "video/stretch_plan.h"
#include "xclip/video.h"

namespace xclip {

namespace {

using namespace xclip::video;
using Clock = std::chrono::steady_clock;

// Every blocking FFmpeg call gets a deadline, so a pathological file cannot hang the caller.
constexpr std::chrono::seconds kCallTimeout{60};

int interrupt_callback(void* opaque) {
  const auto* deadline = static_cast<const Clock::time_point*>(opaque);
  return Clock::now() > *deadline ? 1 : 0;
}

}  // namespace

struct VideoReader::Impl {
  VideoInfo info;
  VideoOpenOptions options;
  Clock::time_point deadline;
  FormatContextPtr format;
  CodecContextPtr codec;
  std::unique_ptr<FrameConverter> converter;  // RGB as the ffmpeg CLI makes it (set when opened)
  AVStream* stream = nullptr;
  int stream_index = -1;
  int decoder_threads = 0;
  // Set during frames_at(indices, sink): frames go to the sink (one at a time, under the
  // mutex shared by parallel decoders) through `scratch` instead of into the result.
  const FrameSink* sink = nullptr;
  std::mutex* sink_mutex = nullptr;
  std::vector<std::uint8_t> scratch;

  // Presentation-order timestamps (stream time base) of every frame, and keyframe ones.
  // Frames may share a timestamp (variable timing muxed at a coarse time base).
  bool indexed = false;
  std::vector<std::int64_t> frame_pts;
  std::vector<std::int64_t> keyframe_pts;
  // Where to seek for each keyframe: its decode timestamp when it has one (some demuxers,
  // MPEG-TS among them, seek by decode time; seeking to a presentation time would land after
  // a keyframe whose B-frames delay it).
  std::map<std::int64_t, std::int64_t> keyframe_seek_ts;
  std::int64_t first_pts = 0;
  // Some packets carry no presentation timestamp (AVI, MPEG program streams): frame_pts are
  // decode timestamps, and decoded frames are numbered by counting them. From the keyframe a
  // seek lands on when the decoder does not reorder (AVI's index seeks exactly). When it
  // reorders, a keyframe's place in presentation order is not its place in the stream (in an
  // open GOP, B-frames that follow it in the stream are shown before it): from the keyframes
  // whose place the parser's picture types prove (`counted_keys`, AVI), else from the first
  // frame.
  bool decode_timestamps_only = false;
  bool reorders_without_pts = false;
  std::map<std::int64_t, std::int64_t> counted_keys;  // presentation index -> decode timestamp
  // Some packets carry presentation times (differing from their decode times) and some not, as
  // in program streams: frames are counted by decoding, and each frame's time is the decoder's
  // (best_effort_timestamp), as ffmpeg's. (AVI's times, where present, are decode times.)
  bool times_from_decoder = false;
  // Frames counted from the first one: the decoder reorders and no keyframe could be placed.
  bool counted_from_start() const { return reorders_without_pts && counted_keys.empty(); }

  // Decoder position: presentation index of the last frame received, -1 after a seek.
  std::int64_t last_index = -1;
  // After a seek to one of `counted_keys`: the proof that the decoder is where the count says.
  // The first packet read must be that keyframe's (its decode timestamp), and frames before
  // the first keyframe picture out are leading pictures shown before it (not counted).
  std::int64_t expected_first_dts = AV_NOPTS_VALUE;
  bool awaiting_key = false;
  bool seek_missed = false;
  bool at_eof = false;
  // For a stream counted from its first frame: reopened and nothing read since, so going back
  // to the start needs no second reopen.
  bool at_start = false;
  Stats stats;

  void arm() { deadline = Clock::now() + kCallTimeout; }

  [[noreturn]] void fail_ffmpeg(const std::string& what, int err) const {
    if (err == AVERROR_EXIT) XCLIP_FAIL(FormatError) << info.path << ": " << what << " timed out";
    XCLIP_FAIL(FormatError) << info.path << ": " << what << ": " << av_error_text(err);
    __builtin_unreachable();  // the failure above always throws
  }

  double seconds(std::int64_t pts) const { return static_cast<double>(pts - first_pts) * av_q2d(stream->time_base); }

  // Reads every packet of the video stream (no decoding) to count frames and learn their
  // timestamps; stops at the first read error (a truncated file keeps what it has).
  void build_index() {
    if (indexed) return;
    if (index_from_sample_table()) return;
    PacketPtr packet(av_packet_alloc());
    std::int64_t synthetic = 0;
    bool all_pts = true, any_pts = false;  // any: a presentation time other than the decode time
    std::int64_t first_key_seek_ts = AV_NOPTS_VALUE;
    // Demuxers without a seek index (MPEG-TS, raw streams) search by decode time; indexed ones
    // (MP4, Matroska, AVI) find the keyframe by its presentation time.
    const bool seeks_by_decode_time = avformat_index_get_entries_count(stream) == 0;
    if (stats.decoded_frames > 0 || stats.seeks > 0) seek_to_start();
    PictureTypeReader picture_types(stream, !seeks_by_decode_time);
    bool last_was_cut = false;  // the last frame's packet came out short: the file ends inside it
    // Pictures that may not be decodable from the start of the file: packets before the first
    // keyframe (a stream cut mid-GOP), or leading pictures shown before the first keyframe but
    // sent after it (HEVC RASL after a CRA, open GOPs: they reference a segment not here).
    bool suspect_start = false;
    std::int64_t first_key = AV_NOPTS_VALUE;
    while (true) {
      arm();
      at_start = false;
      const int err = av_read_frame(format.get(), packet.get());
      if (err < 0) break;
      // Packets an edit list cuts are decoded (as references) but never shown: not frames.
      // The keyframe among them is where decoding the first shown frames must start.
      if (packet->stream_index == stream_index && (packet->flags & AV_PKT_FLAG_DISCARD) &&
          (packet->flags & AV_PKT_FLAG_KEY) && first_key_seek_ts == AV_NOPTS_VALUE) {
        const std::int64_t pts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
        first_key_seek_ts = packet->dts != AV_NOPTS_VALUE && pts != AV_NOPTS_VALUE ? std::min(pts, packet->dts) : pts;
      }
      if (packet->stream_index == stream_index && !(packet->flags & AV_PKT_FLAG_DISCARD)) {
        all_pts = all_pts && packet->pts != AV_NOPTS_VALUE;
        any_pts = any_pts || (packet->pts != AV_NOPTS_VALUE && packet->dts != AV_NOPTS_VALUE && packet->pts != packet->dts);
        std::int64_t pts = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
        if (pts == AV_NOPTS_VALUE) pts = synthetic;  // no timestamps at all: count packets
        synthetic = pts + std::max<std::int64_t>(packet->duration, 1);
        frame_pts.push_back(pts);
        picture_types.add(packet.get());
        last_was_cut = packet->flags & AV_PKT_FLAG_CORRUPT;
        if (first_key == AV_NOPTS_VALUE && !(packet->flags & AV_PKT_FLAG_KEY)) suspect_start = true;
        if (first_key == AV_NOPTS_VALUE && (packet->flags & AV_PKT_FLAG_KEY)) first_key = pts;
        if (first_key != AV_NOPTS_VALUE && pts < first_key) suspect_start = true;
        if (packet->flags & AV_PKT_FLAG_KEY) {
          keyframe_pts.push_back(pts);
          if (seeks_by_decode_time && packet->dts != AV_NOPTS_VALUE) keyframe_seek_ts[pts] = std::min(pts, packet->dts);
        }
      }
      av_packet_unref(packet.get());
    }
    // A truncated file's last sample cannot be decoded (ffprobe -count_frames does not count
    // it either).
    if (last_was_cut && !frame_pts.empty()) {
      if (!keyframe_pts.empty() && keyframe_pts.back() == frame_pts.back()) keyframe_pts.pop_back();
      frame_pts.pop_back();
    }
    decode_timestamps_only = !all_pts;
    times_from_decoder = !all_pts && any_pts;
    reorders_without_pts = decode_timestamps_only && stream->codecpar->video_delay > 0;
    if (reorders_without_pts && !last_was_cut) counted_keys = picture_types.keyframes();
    // Equal timestamps stay: each packet is a frame (ffprobe -count_frames counts them too).
    std::sort(frame_pts.begin(), frame_pts.end());
    std::sort(keyframe_pts.begin(), keyframe_pts.end());
    if (suspect_start && !decode_timestamps_only) drop_undecodable_start();
    if (!frame_pts.empty() && (keyframe_pts.empty() || keyframe_pts.front() > frame_pts.front())) {
      // The first shown frames depend on a keyframe the edit list hides (or there is none):
      // reaching them means seeking to that keyframe (or the start).
      keyframe_pts.insert(keyframe_pts.begin(), frame_pts.front());
      if (first_key_seek_ts != AV_NOPTS_VALUE) keyframe_seek_ts[frame_pts.front()] = first_key_seek_ts;
    }
    // A stream that lists no readable picture is damaged (a zeroed MP4 sample table reads as
    // 0 frames at 12,800 fps), not an empty video.
    XCLIP_CHECK(!frame_pts.empty(), FormatError)
        << info.path << ": the video stream has no frame that can be read (damaged or missing sample index)";
    publish_index("packets");
    seek_to_start();
  }

  // frame_pts and keyframe_pts are final: the count and the map become the video's.
  void publish_index(const char* source) {
    first_pts = frame_pts.front();
    indexed = true;
    info.frame_count = static_cast<std::int64_t>(frame_pts.size());
    info.frame_count_exact = true;
    info.frame_index = source;
  }

  // MP4 / MOV sample tables list every sample with its decode time, position, size and
  // whether it is a keyframe, and ('ctts') how much later each is shown: together the frame
  // index, exact, without reading the file's pictures. Anything the table may not tell truly
  // (an edit list hiding samples, samples past the end of a truncated file, empty samples,
  // fragments, pictures shown before the first keyframe, packets that disagree with it) leaves
  // it to the packet scan.
  bool index_from_sample_table() {
    if (std::string(format->iformat->name).find("mp4") == std::string::npos) return false;
    if (stream->nb_frames <= 0) return false;
    const int entries = avformat_index_get_entries_count(stream);
    if (entries != stream->nb_frames) return false;
    const std::int64_t file_size = avio_size(format->pb);
    std::vector<std::int64_t> decode_times;
    std::vector<bool> is_key;
    for (int i = 0; i < entries; ++i) {
      const AVIndexEntry* e = avformat_index_get_entry(stream, i);
      if (e == nullptr || (e->flags & AVINDEX_DISCARD_FRAME) || e->size <= 0) return false;
      if (file_size <= 0 || e->pos < 0 || e->pos > file_size || e->size > file_size - e->pos) return false;
      if (!decode_times.empty() && e->timestamp <= decode_times.back()) return false;
      if (decode_times.empty() && !(e->flags & AVINDEX_KEYFRAME)) return false;
      decode_times.push_back(e->timestamp);
      is_key.push_back(e->flags & AVINDEX_KEYFRAME);
    }
    const auto offsets = mp4_composition_offsets(info.path, stream->id, entries);
    if (!offsets) return false;
    // Decode time + composition offset of each sample; a hostile table's may overflow.
    std::vector<std::int64_t> times(decode_times.size()), keys;
    for (std::size_t i = 0; i < times.size(); ++i) {
      if (__builtin_add_overflow(decode_times[i], (*offsets)[i], &times[i])) return false;
    }
    const std::optional<std::int64_t> shift = presentation_shift(decode_times, times);
    if (!shift) return false;
    for (std::size_t i = 0; i < times.size(); ++i) {
      if (__builtin_add_overflow(times[i], *shift, &times[i])) return false;
      if (times[i] < times.front()) return false;  // shown before the first keyframe: maybe undecodable
      if (is_key[i]) keys.push_back(times[i]);
    }
    std::sort(times.begin(), times.end());
    if (std::adjacent_find(times.begin(), times.end()) != times.end()) return false;
    std::sort(keys.begin(), keys.end());
    frame_pts = std::move(times);
    keyframe_pts = std::move(keys);
    publish_index("sample table");
    return true;
  }

  // What FFmpeg adds to the table's time (decode time + composition offset) to give a packet's
  // presentation time (a constant: the shift that keeps negative offsets from showing a frame
  // before it is decoded), read from the first packets, which must all agree with the table.
  // Nothing when a packet disagrees, lacks a timestamp or is one the demuxer drops.
  std::optional<std::int64_t> presentation_shift(const std::vector<std::int64_t>& decode_times,
                                                 const std::vector<std::int64_t>& table_times) {
    constexpr std::size_t kPacketsChecked = 16;
    PacketPtr packet(av_packet_alloc());
    std::optional<std::int64_t> shift;
    bool agree = true;
    std::size_t sample = 0;
    while (agree && sample < std::min(kPacketsChecked, decode_times.size())) {
      arm();
      if (av_read_frame(format.get(), packet.get()) < 0) {
        agree = false;
        break;
      }
      if (packet->stream_index == stream_index) {
        agree = packet->dts == decode_times[sample] && packet->pts != AV_NOPTS_VALUE &&
                !(packet->flags & AV_PKT_FLAG_DISCARD);
        std::int64_t packet_shift = 0;
        agree = agree && !__builtin_sub_overflow(packet->pts, table_times[sample], &packet_shift);
        if (agree && !shift) shift = packet_shift;
        agree = agree && packet_shift == *shift;
        ++sample;
      }
      av_packet_unref(packet.get());
    }
    seek_to_start();
    if (!agree) return std::nullopt;
    return shift;
  }

  // The frames shown before the first picture the decoder gives from the start of the file
  // cannot be produced by anyone (ffmpeg and ffprobe -count_frames skip them too): they are
  // not frames of this video. Costs one decode from the start, only for suspect streams.
  void drop_undecodable_start() {
    reopen();
    FramePtr frame(av_frame_alloc());
    const std::int64_t decoded_before = stats.decoded_frames;
    if (!next_frame(frame.get(), std::numeric_limits<std::int64_t>::min())) return;
    stats.decoded_frames = decoded_before;  // opening is not a request's decoding
    std::int64_t first = frame->best_effort_timestamp;
    if (first == AV_NOPTS_VALUE) first = frame->pts;
    av_frame_unref(frame.get());
    if (first == AV_NOPTS_VALUE) return;
    frame_pts.erase(frame_pts.begin(), std::lower_bound(frame_pts.begin(), frame_pts.end(), first));
    keyframe_pts.erase(keyframe_pts.begin(), std::lower_bound(keyframe_pts.begin(), keyframe_pts.end(), first));
    reopen();
  }

  // Seeks to the keyframe shown as frame `key_index`; to the first frame when frames are
  // counted from it (decode_start is then 0 for every target, or for those before the first
  // keyframe placed).
  void seek_to_key(std::int64_t key_index) {
    forget_seek_proof();
    const auto counted_key = counted_keys.find(key_index);
    if (reorders_without_pts && counted_key == counted_keys.end()) {
      if (!at_start) ++stats.seeks;
      seek_to_start();
      return;
    }
    std::int64_t ts = frame_pts[static_cast<std::size_t>(key_index)];
    if (counted_key != counted_keys.end()) {
      ts = counted_key->second;
    } else if (const auto known = keyframe_seek_ts.find(ts); known != keyframe_seek_ts.end()) {
      ts = known->second;
    }
    arm();
    const int err = av_seek_frame(format.get(), stream_index, ts, AVSEEK_FLAG_BACKWARD);
    if (err < 0) {
      arm();
      const int retry =
          avformat_seek_file(format.get(), stream_index, std::numeric_limits<std::int64_t>::min(), ts, ts, 0);
      if (retry < 0) {
        // Some demuxers cannot seek there (negative timestamps in Matroska): restart from the
        // first byte and decode forward, slower but exact.
        arm();
        const int rewind = av_seek_frame(format.get(), -1, 0, AVSEEK_FLAG_BYTE | AVSEEK_FLAG_BACKWARD);
        if (rewind < 0) fail_ffmpeg("seek", rewind);
      }
    }
    avcodec_flush_buffers(codec.get());
    last_index = -1;
    at_eof = false;
    ++stats.seeks;
    if (counted_key != counted_keys.end()) {
      expected_first_dts = ts;
      awaiting_key = true;
    }
  }

  // Closes and opens the demuxer and decoder again: the one way back to the first frame that
  // is exact in every container (in an MPEG program stream, a seek to the first timestamp
  // lands on the second GOP).
  void reopen();

  void seek_to_start() {
    forget_seek_proof();
    if (reorders_without_pts) {
      if (!at_start) reopen();
      at_start = true;
      return;
    }
    arm();
    const std::int64_t start = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;
    if (av_seek_frame(format.get(), stream_index, start, AVSEEK_FLAG_BACKWARD) < 0) {
      arm();
      av_seek_frame(format.get(), -1, 0, AVSEEK_FLAG_BYTE | AVSEEK_FLAG_BACKWARD);
    }
    avcodec_flush_buffers(codec.get());
    last_index = -1;
    at_eof = false;
  }

  void forget_seek_proof() {
    expected_first_dts = AV_NOPTS_VALUE;
    awaiting_key = false;
    seek_missed = false;
  }

  static bool is_key_picture(const AVFrame* frame) {
#ifdef AV_FRAME_FLAG_KEY
    return (frame->flags & AV_FRAME_FLAG_KEY) != 0;
#else
    return frame->key_frame != 0;
#endif
  }

  // Presentation index of a frame the decoder just gave (after a seek to `key_index`, or on
  // from last_index); -1 for a leading picture before the keyframe sought (not counted).
  std::int64_t index_of_decoded(const AVFrame* frame, std::int64_t key_index) {
    if (decode_timestamps_only) {
      // Decoders give frames in presentation order: count them from the keyframe sought.
      if (last_index >= 0) return last_index + 1;
      if (awaiting_key) {
        if (!is_key_picture(frame)) return -1;
        awaiting_key = false;
      }
      return key_index;
    }
    std::int64_t pts = frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = frame->pts;
    if (pts == AV_NOPTS_VALUE) return last_index + 1;
    std::int64_t index = index_of(pts);
    // A frame sharing its timestamp with the one just decoded is the next of that run.
    const std::int64_t count = static_cast<std::int64_t>(frame_pts.size());
    if (index <= last_index && last_index + 1 < count && frame_pts[static_cast<std::size_t>(last_index + 1)] == pts)
      index = last_index + 1;
    return index;
  }

  std::int64_t index_of(std::int64_t pts) const {
    return std::lower_bound(frame_pts.begin(), frame_pts.end(), pts) - frame_pts.begin();
  }

  // Where decoding must start for frame `index` to be reached with its number known.
  std::int64_t decode_start(std::int64_t index) const {
    return counted_from_start() ? 0 : keyframe_index_at_or_before(index);
  }

  // Presentation index of the keyframe at or before frame `index`.
  std::int64_t keyframe_index_at_or_before(std::int64_t index) const {
    if (!counted_keys.empty()) {
      // Keyframes placed by picture type; frames before the first are reached from the start.
      const auto after = counted_keys.upper_bound(index);
      return after == counted_keys.begin() ? 0 : std::prev(after)->first;
    }
    const std::int64_t target_pts = frame_pts[static_cast<std::size_t>(index)];
    auto kf = std::upper_bound(keyframe_pts.begin(), keyframe_pts.end(), target_pts);
    return index_of(kf == keyframe_pts.begin() ? keyframe_pts.front() : *(kf - 1));
  }

  // Next decoded frame into `frame`; false at the end of the stream. Packets displayed
  // before `needed_pts` skip non-reference pictures: nothing depends on them.
  bool next_frame(AVFrame* frame, std::int64_t needed_pts) {
    PacketPtr packet(av_packet_alloc());
    int bad_packets = 0;
    // Corrupt data is skipped as ffmpeg skips it, but not forever.
    const auto skip_corrupt = [&] {
      XCLIP_CHECK(++bad_packets < 10000, FormatError) << info.path << ": too many corrupt packets";
    };
    while (true) {
      int err = avcodec_receive_frame(codec.get(), frame);
      if (err == 0) {
        ++stats.decoded_frames;
        return true;
      }
      if (err == AVERROR_EOF) return false;
      if (err == AVERROR_INVALIDDATA) {
        // A picture that would not decode (a threaded decoder reports it here, not when the
        // packet is sent); a target it was is then missing, which the caller reports.
        skip_corrupt();
        continue;
      }
      if (err != AVERROR(EAGAIN)) fail_ffmpeg("decoding", err);
      if (at_eof) {
        // Drained without a frame: the decoder has nothing more to give.
        return false;
      }
      arm();
      at_start = false;
      err = av_read_frame(format.get(), packet.get());
      if (err < 0) {
        at_eof = true;
        avcodec_send_packet(codec.get(), nullptr);  // drain
        continue;
      }
      if (packet->stream_index != stream_index) {
        av_packet_unref(packet.get());
        continue;
      }
      if (expected_first_dts != AV_NOPTS_VALUE) {
        // The seek's proof: it landed on the keyframe asked for, not before or after it.
        seek_missed = packet->dts != expected_first_dts;
        expected_first_dts = AV_NOPTS_VALUE;
      }
      // Without presentation timestamps frames are numbered by counting them: none may be
      // skipped, and a decode timestamp says nothing about where a B-frame is shown anyway.
      const std::int64_t pts = packet->pts;
      const bool before_needed = !decode_timestamps_only && pts != AV_NOPTS_VALUE && pts < needed_pts;
      codec->skip_frame = before_needed ? AVDISCARD_NONREF : AVDISCARD_DEFAULT;
      err = avcodec_send_packet(codec.get(), packet.get());
      av_packet_unref(packet.get());
      if (err == AVERROR_INVALIDDATA) {
        skip_corrupt();
        continue;
      }
      if (err < 0 && err != AVERROR(EAGAIN)) fail_ffmpeg("decoding", err);
    }
  }

  // Decodes `targets` (ascending presentation indices, keys of `wanted`) into the rows
  // `wanted` gives them in `out`, seeking only where decode-on would cost more.
  void decode_targets(const std::vector<std::int64_t>& targets,
                      const std::map<std::int64_t, std::vector<std::size_t>>& wanted, DecodedFrames& out) {
    const std::int64_t count = static_cast<std::int64_t>(frame_pts.size());
    const std::size_t frame_bytes = static_cast<std::size_t>(info.height * info.width * 3);
    FramePtr frame(av_frame_alloc());
    for (const std::int64_t target : targets) {
      const std::vector<std::size_t>& slots = wanted.at(target);
      // The keyframe at or before the target; seek when it lies beyond the decoder position
      // (decoding on would cost at least the frames up to it) or when the target is behind us.
      const std::int64_t key_index = decode_start(target);
      if (last_index < 0 || last_index >= target || key_index > last_index + 1 || at_eof) seek_to_key(key_index);
      std::int64_t reached = decode_target(target, key_index, slots, frame.get(), frame_bytes, out, false);
      const std::int64_t earlier_key = key_index > 0 ? decode_start(key_index - 1) : key_index;
      if (reached != target && earlier_key < key_index) {
        // An open GOP's decoder can withhold the last pictures after a seek to the last
        // keyframe (they wait on references it never saw): one keyframe earlier it has them.
        seek_to_key(earlier_key);
        reached = decode_target(target, earlier_key, slots, frame.get(), frame_bytes, out, false);
      }
      if (reached != target) {
        // A seek can land where the decoder cannot show the target (a demuxer that does not
        // come back after a seek, a keyframe that is not a clean entry point): the file read
        // again from its first byte, without seeking, is the last resort.
        reopen();
        reached = decode_target(target, 0, slots, frame.get(), frame_bytes, out,
                                options.on_missing == VideoOpenOptions::OnMissing::Nearest);
      }
      XCLIP_CHECK(reached >= 0, FormatError) << info.path << ": frame " << target << " of " << count
                                             << " could not be decoded (the stream is corrupt or ends early)";
      XCLIP_CHECK(reached == target || options.on_missing == VideoOpenOptions::OnMissing::Nearest, FormatError)
          << info.path << ": frame " << target << " of " << count << " cannot be decoded: the decoder gives frame "
          << reached << " next (" << seconds(frame_pts[static_cast<std::size_t>(reached)])
          << " s); OnMissing::Nearest (CLI --on-missing nearest) accepts that picture and reports the substitution";
    }
  }

  // Decodes on to `target` (after a seek to `key_index`, or on from the last frame). Returns
  // the index of the first picture at or after the target the decoder gives (its own
  // timestamp is the proof), -1 when the stream ends first; the picture is written into
  // `slots` when it is the target, or when `accept_later` takes a later one in its place.
  std::int64_t decode_target(std::int64_t target, std::int64_t key_index, const std::vector<std::size_t>& slots,
                             AVFrame* frame_ptr, std::size_t frame_bytes, DecodedFrames& out, bool accept_later) {
    const std::int64_t count = static_cast<std::int64_t>(frame_pts.size());
    const std::int64_t target_pts = frame_pts[static_cast<std::size_t>(target)];
    struct Unref {
      AVFrame* f;
      ~Unref() { av_frame_unref(f); }
    } unref{frame_ptr};
    // Bounded: at most every frame of the video between the keyframe and the target, plus the
    // frames a seek may land before it.
    for (std::int64_t guard = 0; guard <= count + 16; ++guard) {
      if (!next_frame(frame_ptr, target_pts) || seek_missed) break;
      const std::int64_t index = index_of_decoded(frame_ptr, key_index);
      last_index = index;
      if (index < target) continue;
      const std::int64_t used = std::min<std::int64_t>(index, count - 1);
      if (used != target && !accept_later) return used;
      const double pts = seconds(used == index && times_from_decoder && frame_ptr->best_effort_timestamp != AV_NOPTS_VALUE
                                     ? frame_ptr->best_effort_timestamp
                                     : frame_pts[static_cast<std::size_t>(used)]);
      const auto [height, width] = converter->displayed_size(frame_ptr);
      if (sink) {
        scratch.resize(static_cast<std::size_t>(height) * width * 3);
        converter->convert(frame_ptr, scratch.data());
        std::lock_guard<std::mutex> lock(*sink_mutex);
        (*sink)(slots, scratch.data(), height, width, pts);
      } else {
        XCLIP_CHECK(height == info.height && width == info.width, FormatError)
            << info.path << ": frame " << used << " is " << width << "x" << height << " where the stream began at "
            << info.width << "x" << info.height << "; frames of a stream that changes resolution come each at its "
            << "own size through a FrameSink (prepare_video, the workflow, the index and the server use one)";
        std::uint8_t* rows = out.frames.mutable_data<std::uint8_t>();
        converter->convert(frame_ptr, rows + slots.front() * frame_bytes);
        for (std::size_t k = 1; k < slots.size(); ++k)
          std::memcpy(rows + slots[k] * frame_bytes, rows + slots.front() * frame_bytes, frame_bytes);
      }
      for (std::size_t k : slots) {
        out.pts_seconds[k] = pts;
        out.substituted[k] = used - target;
        if (used != target) out.indices[k] = used;
      }
      return used;
    }
    return -1;
  }

  // The frame index of `other` (same file), so that a second decoder needs no packet scan.
  void adopt_index(const Impl& other) {
    frame_pts = other.frame_pts;
    keyframe_pts = other.keyframe_pts;
    keyframe_seek_ts = other.keyframe_seek_ts;
    first_pts = other.first_pts;
    decode_timestamps_only = other.decode_timestamps_only;
    times_from_decoder = other.times_from_decoder;
    reorders_without_pts = other.reorders_without_pts;
    counted_keys = other.counted_keys;
    info.frame_count = other.info.frame_count;
    info.frame_count_exact = other.info.frame_count_exact;
    info.frame_index = other.info.frame_index;
    indexed = true;
  }

};

VideoReader::VideoReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoReader::~VideoReader() = default;
VideoReader::VideoReader(VideoReader&&) noexcept = default;
VideoReader& VideoReader::operator=(VideoReader&&) noexcept = default;

const VideoInfo& VideoReader::info() const { return impl_->info; }
VideoReader::Stats VideoReader::last_stats() const { return impl_->stats; }

namespace {

// Opens `path` with its own demuxer and decoder (`decoder_threads` for the codec), the
// stream information read but not the frame index.
std::unique_ptr<VideoReader::Impl> open_impl(const std::string& path, const VideoOpenOptions& options,
                                             int decoder_threads);
// Opens impl.info.path's demuxer and decoder into `impl`; fills the stream's part of its info.
void open_streams(VideoReader::Impl& impl);

}  // namespace

VideoReader VideoReader::open(const std::string& path, const VideoOpenOptions& options) {
  auto impl = open_impl(path, options, options.threads);
  if (options.frame_count == FrameCountMode::Exact) {
    impl->build_index();
  } else {
    VideoInfo& info = impl->info;
    info.frame_count = impl->stream->nb_frames > 0
                           ? impl->stream->nb_frames
                           : static_cast<std::int64_t>(std::llround(info.duration_seconds * info.average_fps));
    info.frame_count_exact = false;
  }
  return VideoReader(std::move(impl));
}

namespace {

std::unique_ptr<VideoReader::Impl> open_impl(const std::string& path, const VideoOpenOptions& options,
                                             int decoder_threads) {
  auto impl = std::make_unique<VideoReader::Impl>();
  impl->info.path = path;
  impl->options = options;
  impl->decoder_threads = decoder_threads;
  open_streams(*impl);
  return impl;
}

// The stream asked for, or the one FFmpeg picks (av_find_best_stream: the default-disposition
// video stream first, then the one with the most frames probed), never a cover picture.
int choose_video_stream(AVFormatContext* format, int wanted, const std::string& path) {
  const auto is_video = [&](int i) {
    const AVStream* s = format->streams[i];
    return s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC);
  };
  const int streams = static_cast<int>(format->nb_streams);
  if (wanted >= 0) {
    XCLIP_CHECK(wanted < streams, InvalidArgument)
        << path << ": there is no stream " << wanted << " (the file has " << streams << ")";
    XCLIP_CHECK(is_video(wanted), InvalidArgument)
        << path << ": stream " << wanted << " is not a video stream ("
        << av_get_media_type_string(format->streams[wanted]->codecpar->codec_type) << ")";
    return wanted;
  }
  const int best = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (best >= 0 && is_video(best)) return best;
  for (int i = 0; i < streams; ++i)
    if (is_video(i)) return i;
  XCLIP_FAIL(FormatError) << path << ": no video stream (audio-only or data file?)";
  __builtin_unreachable();
}


void open_streams(VideoReader::Impl& m) {
  const std::string& path = m.info.path;
  struct stat st {};
  XCLIP_CHECK(::stat(path.c_str(), &st) == 0, IoError) << path << ": no such file";
  XCLIP_CHECK(!S_ISDIR(st.st_mode), IoError) << path << ": is a directory, not a video file";
  XCLIP_CHECK(st.st_size > 0, FormatError) << path << ": empty file";
  av_log_set_level(AV_LOG_FATAL);  // errors reach the caller as exceptions, not as log lines

  AVFormatContext* raw = avformat_alloc_context();
  XCLIP_CHECK(raw != nullptr, Error) << "out of memory opening " << path;
  raw->interrupt_callback.callback = interrupt_callback;
  raw->interrupt_callback.opaque = &m.deadline;
  m.arm();
  int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);  // frees raw on failure
  if (err < 0) {
    if (err == AVERROR(EACCES)) XCLIP_FAIL(IoError) << path << ": permission denied";
    XCLIP_FAIL(FormatError) << path << ": not a video FFmpeg can read (" << av_error_text(err) << ")";
  }
  m.format.reset(raw);
  m.arm();
  // Probing decodes a few pictures: its decoders get the pixel limit too.
  std::vector<AVDictionary*> probe_options(raw->nb_streams, nullptr);
  for (AVDictionary*& d : probe_options) av_dict_set_int(&d, "max_pixels", m.options.limits.max_pixels, 0);
  err = avformat_find_stream_info(raw, probe_options.empty() ? nullptr : probe_options.data());
  for (AVDictionary*& d : probe_options) av_dict_free(&d);
  if (err < 0) m.fail_ffmpeg("reading stream information", err);

  m.stream_index = choose_video_stream(raw, m.options.stream, path);
  m.stream = raw->streams[m.stream_index];
  // The demuxer drops the other streams' packets (audio, subtitles, other views).
  for (unsigned i = 0; i < raw->nb_streams; ++i)
    if (static_cast<int>(i) != m.stream_index) raw->streams[i]->discard = AVDISCARD_ALL;
  const AVCodecParameters* par = m.stream->codecpar;
  const AVCodec* decoder = avcodec_find_decoder(par->codec_id);
  XCLIP_CHECK(decoder != nullptr, UnsupportedError)
      << path << ": no decoder for codec '" << avcodec_get_name(par->codec_id) << "' in this FFmpeg build";
  m.codec.reset(avcodec_alloc_context3(decoder));
  XCLIP_CHECK(m.codec != nullptr, Error) << "out of memory opening " << path;
  err = avcodec_parameters_to_context(m.codec.get(), par);
  if (err < 0) m.fail_ffmpeg("reading codec parameters", err);
  m.codec->thread_count = m.decoder_threads;
  m.codec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  check_pixel_limit(path, par->width, par->height, m.options.limits);
  // The decoder refuses larger pictures itself, before allocating them.
  m.codec->max_pixels = m.options.limits.max_pixels;
  err = avcodec_open2(m.codec.get(), decoder, nullptr);
  if (err < 0) m.fail_ffmpeg("opening the " + std::string(decoder->name) + " decoder", err);
  XCLIP_CHECK(par->width > 0 && par->height > 0 && par->width <= 16384 && par->height <= 16384, FormatError)
      << path << ": implausible frame size " << par->width << "x" << par->height;

  VideoInfo& info = m.info;
  info.container = raw->iformat->name;
  info.stream_index = m.stream_index;
  info.video_streams = 0;
  for (unsigned i = 0; i < raw->nb_streams; ++i)
    if (raw->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
        !(raw->streams[i]->disposition & AV_DISPOSITION_ATTACHED_PIC))
      ++info.video_streams;
  info.codec = avcodec_get_name(par->codec_id);
  const char* pix = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format));
  info.pixel_format = pix ? pix : "unknown";
  info.coded_width = par->width;
  info.coded_height = par->height;
  info.rotation = rotation_of(m.stream);
  if (!m.converter) m.converter = std::make_unique<FrameConverter>(info.path, m.options.limits);
  m.converter->set_rotation(info.rotation);
  const bool swap = info.rotation == 90 || info.rotation == 270;
  info.width = swap ? par->height : par->width;
  info.height = swap ? par->width : par->height;
  AVRational rate = m.stream->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = m.stream->r_frame_rate;
  info.average_fps = (rate.num > 0 && rate.den > 0) ? av_q2d(rate) : 0.0;
  if (m.stream->duration != AV_NOPTS_VALUE && m.stream->duration > 0)
    info.duration_seconds = static_cast<double>(m.stream->duration) * av_q2d(m.stream->time_base);
  else if (raw->duration != AV_NOPTS_VALUE && raw->duration > 0)
    info.duration_seconds = static_cast<double>(raw->duration) / AV_TIME_BASE;
}

}  // namespace

void VideoReader::Impl::reopen() {
  const int was = stream_index;
  converter->reset();
  codec.reset();
  format.reset();
  stream = nullptr;
  stream_index = -1;
  open_streams(*this);
  forget_seek_proof();
  XCLIP_CHECK(stream_index == was, FormatError) << info.path << ": the file changed while it was being read";
  last_index = -1;
  at_eof = false;
}

DecodedFrames VideoReader::frames_at(const std::vector<std::int64_t>& indices) { return frames_at(indices, nullptr); }

DecodedFrames VideoReader::frames_at(const std::vector<std::int64_t>& indices, const FrameSink& sink) {
  Impl& m = *impl_;
  std::mutex sink_mutex;
  m.sink = sink ? &sink : nullptr;
  m.sink_mutex = &sink_mutex;
  struct Reset {
    Impl& m;
    ~Reset() {
      m.sink = nullptr;
      m.sink_mutex = nullptr;
      m.scratch = {};
    }
  } reset{m};
  m.build_index();
  m.stats = {};
  XCLIP_CHECK(!indices.empty(), InvalidArgument) << m.info.path << ": no frame indices requested";
  XCLIP_CHECK(static_cast<std::int64_t>(indices.size()) <= m.options.limits.max_frames, InvalidArgument)
      << m.info.path << ": " << indices.size() << " frames requested at once, more than the decode limit of "
      << m.options.limits.max_frames
      << " (raise it with --max-frames in the CLI and serve, max_frames= in Python, DecodeLimits::max_frames in C++)";
  const std::int64_t count = static_cast<std::int64_t>(m.frame_pts.size());
  XCLIP_CHECK(count > 0, FormatError) << m.info.path << ": the video stream has no frames";
  for (std::int64_t i : indices) {
    XCLIP_CHECK(i >= 0 && i < count, InvalidArgument)
        << m.info.path << ": frame index " << i << " is outside the video's " << count << " frames";
  }
  DecodedFrames out;
  out.indices = indices;
  if (m.options.seek == SeekMode::Keyframe) {
    for (std::int64_t& i : out.indices) i = m.keyframe_index_at_or_before(i);
  }
  // Targets in ascending order; every request of one index shares one decoded frame.
  std::map<std::int64_t, std::vector<std::size_t>> wanted;
  for (std::size_t k = 0; k < out.indices.size(); ++k) wanted[out.indices[k]].push_back(k);

  const std::int64_t h = m.info.height, w = m.info.width;
  if (!m.sink) out.frames = Tensor::empty(DType::U8, {static_cast<std::int64_t>(indices.size()), h, w, 3});
  out.pts_seconds.assign(indices.size(), 0.0);
  out.substituted.assign(indices.size(), 0);
  std::vector<std::int64_t> targets;
  for (const auto& entry : wanted) targets.push_back(entry.first);
  std::vector<Stretch> stretches = plan_stretches(targets, [&m](std::int64_t t) { return m.decode_start(t); });
  std::stable_sort(stretches.begin(), stretches.end(),
                   [](const Stretch& a, const Stretch& b) { return a.frames > b.frames; });
  DecoderChoice choice;
  choice.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  choice.max_decoders = m.options.threads;
  choice.counted_by_decoding = m.decode_timestamps_only;
  choice.frame_pixels = static_cast<double>(m.info.width) * m.info.height;
  const int workers = decoder_count(stretches, choice);
  if (workers == 1) {
    m.decode_targets(targets, wanted, out);
    return out;
  }
  // Independent decoders, one per core, each taking the longest stretch left when it is free:
  // no frame is decoded twice, no decoder's threads drain at a seek (frame threading loses that
  // time at every one), and a core slowed by other work takes fewer stretches.
  std::vector<std::unique_ptr<Impl>> decoders(static_cast<std::size_t>(workers));
  std::vector<std::exception_ptr> errors(decoders.size());
  std::atomic<std::size_t> next_stretch{0};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < decoders.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        decoders[i] = open_impl(m.info.path, m.options, 1);
        decoders[i]->adopt_index(m);
        decoders[i]->sink = m.sink;
        decoders[i]->sink_mutex = m.sink_mutex;
        for (std::size_t s = next_stretch++; s < stretches.size(); s = next_stretch++)
          decoders[i]->decode_targets(stretches[s].targets, wanted, out);
      } catch (...) {
        next_stretch = stretches.size();  // the others stop after their current stretch
        errors[i] = std::current_exception();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  m.stats.decoders = workers;
  for (const std::unique_ptr<Impl>& d : decoders) {
    if (!d) continue;
    m.stats.decoded_frames += d->stats.decoded_frames;
    m.stats.seeks += d->stats.seeks;
  }
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

std::int64_t VideoReader::index_at_time(double t) {
  Impl& m = *impl_;
  m.build_index();
  XCLIP_CHECK(!m.frame_pts.empty(), FormatError) << m.info.path << ": the video stream has no frames";
  XCLIP_CHECK(std::isfinite(t) && t >= 0, InvalidArgument)
      << m.info.path << ": time " << t << " s is not a valid position";
  const double tb = av_q2d(m.stream->time_base);
  const auto pts = m.first_pts + static_cast<std::int64_t>(std::floor(t / tb + 1e-6));
  const auto it = std::upper_bound(m.frame_pts.begin(), m.frame_pts.end(), pts);
  return std::max<std::int64_t>(0, (it - m.frame_pts.begin()) - 1);
}

DecodedFrames VideoReader::frames_at_times(const std::vector<double>& seconds) {
  std::vector<std::int64_t> indices;
  for (double t : seconds) indices.push_back(index_at_time(t));
  return frames_at(indices);
}

}  // namespace xclip
