#include "video/jpeg.h"

#include <algorithm>

#include "core/check.h"
#include "video/ffmpeg_handles.h"

namespace xclip::video {

namespace {

// MJPEG wants even sizes for 4:2:0; thumbnails keep the aspect ratio within a pixel.
int even(int v) { return std::max(2, v - v % 2); }

}  // namespace

std::vector<std::uint8_t> encode_jpeg_thumbnail(const std::uint8_t* rgb, int width, int height, int max_side) {
  XCLIP_CHECK(width > 0 && height > 0 && max_side > 0, InvalidArgument)
      << "thumbnail of a " << width << "x" << height << " frame at most " << max_side << " pixels";
  const double scale = std::min(1.0, static_cast<double>(max_side) / std::max(width, height));
  const int w = even(static_cast<int>(width * scale + 0.5)), h = even(static_cast<int>(height * scale + 0.5));

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  XCLIP_CHECK(codec != nullptr, UnsupportedError) << "this FFmpeg has no MJPEG encoder for thumbnails";
  CodecContextPtr ctx(avcodec_alloc_context3(codec));
  ctx->width = w;
  ctx->height = h;
  ctx->pix_fmt = AV_PIX_FMT_YUVJ420P;
  ctx->time_base = AVRational{1, 25};
  ctx->flags |= AV_CODEC_FLAG_QSCALE;
  ctx->global_quality = FF_QP2LAMBDA * 4;  // qscale 4: small files, no visible blocking at this size
  int rc = avcodec_open2(ctx.get(), codec, nullptr);
  XCLIP_CHECK(rc >= 0, FormatError) << "opening the MJPEG encoder: " << av_error_text(rc);

  FramePtr frame(av_frame_alloc());
  frame->format = ctx->pix_fmt;
  frame->width = w;
  frame->height = h;
  frame->quality = ctx->global_quality;
  rc = av_frame_get_buffer(frame.get(), 0);
  XCLIP_CHECK(rc >= 0, FormatError) << "thumbnail buffer: " << av_error_text(rc);
  SwsPtr sws(sws_getContext(width, height, AV_PIX_FMT_RGB24, w, h, AV_PIX_FMT_YUVJ420P, SWS_AREA, nullptr, nullptr,
                            nullptr));
  XCLIP_CHECK(sws != nullptr, FormatError) << "no scaler from " << width << "x" << height << " to " << w << "x" << h;
  const std::uint8_t* src[1] = {rgb};
  const int src_stride[1] = {3 * width};
  sws_scale(sws.get(), src, src_stride, 0, height, frame->data, frame->linesize);

  PacketPtr packet(av_packet_alloc());
  rc = avcodec_send_frame(ctx.get(), frame.get());
  if (rc >= 0) rc = avcodec_send_frame(ctx.get(), nullptr);
  XCLIP_CHECK(rc >= 0, FormatError) << "encoding a thumbnail: " << av_error_text(rc);
  rc = avcodec_receive_packet(ctx.get(), packet.get());
  XCLIP_CHECK(rc >= 0, FormatError) << "encoding a thumbnail: " << av_error_text(rc);
  return std::vector<std::uint8_t>(packet->data, packet->data + packet->size);
}

}  // namespace xclip::video
