#include "video/picture_types.h"

extern "C" {
#include <libavutil/avutil.h>
}

namespace xclip::video {

namespace {

// The codecs whose B-pictures are never references: the B-pictures sent after an anchor are
// exactly those shown before it.
bool b_pictures_lead(AVCodecID id) {
  return id == AV_CODEC_ID_MPEG4 || id == AV_CODEC_ID_MPEG1VIDEO || id == AV_CODEC_ID_MPEG2VIDEO;
}

}  // namespace

void PictureTypeReader::add(const AVPacket* packet) {
  if (first_) {
    first_ = false;
    if (wanted_ && packet->pts == AV_NOPTS_VALUE) start();
  }
  if (!parser_) return;
  std::uint8_t* out = nullptr;
  int out_size = 0;
  av_parser_parse2(parser_.get(), context_.get(), &out, &out_size, packet->data, packet->size, packet->pts, packet->dts,
                   packet->pos);
  const char type =
      parser_->pict_type > 0 ? av_get_picture_type_char(static_cast<AVPictureType>(parser_->pict_type)) : '?';
  const bool has_dts = packet->dts != AV_NOPTS_VALUE;
  pictures_.push_back({has_dts ? type : '?', (packet->flags & AV_PKT_FLAG_KEY) != 0, packet->dts});
}

std::map<std::int64_t, std::int64_t> PictureTypeReader::keyframes() const {
  if (!parser_) return {};
  return keyframe_display_indices(pictures_, b_pictures_lead(parameters_->codec_id));
}

void PictureTypeReader::start() {
  parser_.reset(av_parser_init(parameters_->codec_id));
  if (!parser_) return;
  parser_->flags |= PARSER_FLAG_COMPLETE_FRAMES;  // a packet is a picture
  // The parser reads the stream's headers (MPEG-4's VOL in extradata) from its context.
  context_.reset(avcodec_alloc_context3(nullptr));
  if (!context_ || avcodec_parameters_to_context(context_.get(), parameters_) < 0) parser_.reset();
}

}  // namespace xclip::video
