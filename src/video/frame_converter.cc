#include "video/frame_converter.h"

#include <cmath>
#include <cstring>
#include <vector>

extern "C" {
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include "core/check.h"

namespace xclip::video {

int rotation_of(const AVStream* stream) {
  std::size_t size = 0;
  const std::uint8_t* matrix = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (matrix == nullptr || size < 9 * sizeof(std::int32_t)) return 0;
  const double ccw = av_display_rotation_get(reinterpret_cast<const std::int32_t*>(matrix));
  if (std::isnan(ccw)) return 0;
  // As ffmpeg's autorotate: clockwise degrees, snapped to a multiple of 90.
  int cw = static_cast<int>(std::lround(-ccw)) % 360;
  if (cw < 0) cw += 360;
  return ((cw + 45) / 90 % 4) * 90;
}

void check_pixel_limit(const std::string& path, std::int64_t width, std::int64_t height, const DecodeLimits& limits) {
  XCLIP_CHECK(width * height <= limits.max_pixels, InvalidArgument)
      << path << ": frames of " << width << "x" << height << " (" << width * height / 1000000.0
      << " Mpixels) exceed the decode limit of " << limits.max_pixels / 1000000.0
      << " Mpixels per frame (raise it with --max-pixels in the CLI and serve, max_pixels= in Python, "
      << "DecodeLimits::max_pixels in C++)";
}


// Whether `format` is rotated in its own pixel format before conversion, as ffmpeg's
// transpose runs before its format conversion. It matters above 8 bits: the conversion to
// 8-bit RGB dithers by position, so rotating its result would not give ffmpeg's pixels.
// Planar formats with equal chroma subsampling across and down (4:2:0, 4:4:4) only: a
// transposed 4:2:2 picture is not 4:2:2.
bool FrameConverter::rotates_before_converting(AVPixelFormat format) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(format);
  if (d == nullptr || !(d->flags & AV_PIX_FMT_FLAG_PLANAR) || (d->flags & AV_PIX_FMT_FLAG_BITSTREAM) ||
      (d->flags & AV_PIX_FMT_FLAG_HWACCEL) || (d->flags & AV_PIX_FMT_FLAG_PAL))
    return false;
  if (d->log2_chroma_w != d->log2_chroma_h || d->comp[0].depth <= 8) return false;
  for (int c = 0; c < d->nb_components; ++c)
    if (d->comp[c].offset != 0 || d->comp[c].shift != 0) return false;
  return true;
}

// `frame` turned by rotation_ in its own pixel format (the mapping of the RGB rotation
// below, plane by plane).
FramePtr FrameConverter::rotated_planes(const AVFrame* frame) const {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame->format));
  FramePtr out(av_frame_alloc());
  out->format = frame->format;
  const auto [turned_h, turned_w] = displayed_size(frame);
  out->width = turned_w;
  out->height = turned_h;
  out->colorspace = frame->colorspace;
  out->color_range = frame->color_range;
  XCLIP_CHECK(av_frame_get_buffer(out.get(), 0) == 0, Error) << "out of memory rotating a frame of " << source_;
  for (int c = 0; c < d->nb_components; ++c) {
    const int plane = d->comp[c].plane, step = d->comp[c].step;
    const bool chroma = c == 1 || c == 2;
    const int sw = chroma ? AV_CEIL_RSHIFT(frame->width, d->log2_chroma_w) : frame->width;
    const int sh = chroma ? AV_CEIL_RSHIFT(frame->height, d->log2_chroma_h) : frame->height;
    const int ow = chroma ? AV_CEIL_RSHIFT(out->width, d->log2_chroma_w) : out->width;
    const int oh = chroma ? AV_CEIL_RSHIFT(out->height, d->log2_chroma_h) : out->height;
    for (int r = 0; r < oh; ++r)
      for (int col = 0; col < ow; ++col) {
        const auto [sr, sc] = source_of(r, col, sh, sw);
        std::memcpy(out->data[plane] + static_cast<std::ptrdiff_t>(r) * out->linesize[plane] + col * step,
                    frame->data[plane] + static_cast<std::ptrdiff_t>(sr) * frame->linesize[plane] + sc * step,
                    static_cast<std::size_t>(step));
      }
  }
  return out;
}

// The (row, column) of a picture of `h` x `w` that lands at (r, c) once turned by
// rotation_ degrees (90, 180 or 270).
std::pair<int, int> FrameConverter::source_of(int r, int c, int h, int w) const {
  if (rotation_ == 90) return {h - 1 - c, r};
  if (rotation_ == 180) return {h - 1 - r, w - 1 - c};
  return {c, w - 1 - r};
}

// (height, width) of `frame` once turned upright.
std::pair<int, int> FrameConverter::displayed_size(const AVFrame* frame) const {
  const bool swap = rotation_ == 90 || rotation_ == 270;
  return swap ? std::pair{frame->width, frame->height} : std::pair{frame->height, frame->width};
}

// RGB24 of `frame`, upright, into `dst` (displayed_size(frame) x 3 bytes).
void FrameConverter::convert(const AVFrame* frame, std::uint8_t* dst) {
  check_pixel_limit(source_, frame->width, frame->height, limits_);  // a stream may lie
  const auto [out_h, out_w] = displayed_size(frame);
  FramePtr turned;
  if (rotation_ != 0 && rotates_before_converting(static_cast<AVPixelFormat>(frame->format))) {
    turned = rotated_planes(frame);
    frame = turned.get();
  }
  const bool rgb_rotation = rotation_ != 0 && !turned;
  const int w = frame->width, h = frame->height;
  sws_.reset(sws_getCachedContext(sws_.release(), w, h, static_cast<AVPixelFormat>(frame->format), w, h,
                                 AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr, nullptr, nullptr));
  XCLIP_CHECK(sws_ != nullptr, UnsupportedError)
      << source_ << ": cannot convert pixel format "
      << av_get_pix_fmt_name(static_cast<AVPixelFormat>(frame->format)) << " to RGB";
  // The stream's colour matrix and range, as ffmpeg's scale filter picks them.
  int* inv_table = nullptr;
  int* table = nullptr;
  int src_range = 0, dst_range = 0, brightness = 0, contrast = 0, saturation = 0;
  sws_getColorspaceDetails(sws_.get(), &inv_table, &src_range, &table, &dst_range, &brightness, &contrast,
                           &saturation);
  const int* coefficients = sws_getCoefficients(frame->colorspace);
  if (frame->color_range != AVCOL_RANGE_UNSPECIFIED) src_range = frame->color_range == AVCOL_RANGE_JPEG;
  sws_setColorspaceDetails(sws_.get(), coefficients, src_range, coefficients, dst_range, brightness, contrast,
                           saturation);

  const std::size_t row = static_cast<std::size_t>(w) * 3;
  std::vector<std::uint8_t> upright;
  std::uint8_t* target = dst;
  if (rgb_rotation) {
    upright.resize(row * h);
    target = upright.data();
  }
  std::uint8_t* planes[4] = {target, nullptr, nullptr, nullptr};
  int strides[4] = {static_cast<int>(row), 0, 0, 0};
  sws_scale(sws_.get(), frame->data, frame->linesize, 0, h, planes, strides);
  if (!rgb_rotation) return;
  // Lossless rotation of the RGB picture (ffmpeg rotates before converting; see docs/testing.md).
  const int ow = out_w;
  for (int r = 0; r < out_h; ++r)
    for (int c = 0; c < ow; ++c) {
      const auto [sr, sc] = source_of(r, c, h, w);
      std::memcpy(dst + (static_cast<std::size_t>(r) * ow + c) * 3, upright.data() + sr * row + sc * 3, 3);
    }
}

}  // namespace xclip::video
