// Small JPEG pictures (search-result thumbnails) from RGB frames, with FFmpeg's MJPEG
// encoder: the video libraries are already there, no image library is added.
#pragma once

#include <cstdint>
#include <vector>

namespace xclip::video {

// rgb: height × width × 3 bytes. Scaled (area filter) so that the longest side is at most
// max_side pixels, then encoded at good quality.
std::vector<std::uint8_t> encode_jpeg_thumbnail(const std::uint8_t* rgb, int width, int height, int max_side);

}  // namespace xclip::video
