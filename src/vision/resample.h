// Separable, antialiased resampling of 8-bit images with the fixed-point arithmetic of the
// two implementations transformers uses, so that results match them bit for bit:
//   Precision::Torch - torch's uint8 antialiased interpolate (int16 weights whose precision
//                      is chosen from the largest weight), used by torchvision's resize;
//   Precision::Pil   - Pillow's ImagingResample (22-bit weights).
// Both compute float weights like Pillow (triangle or Keys a=-0.5 filter stretched by the
// downscale factor), run the horizontal pass first into an 8-bit buffer, then the vertical.
#pragma once

#include <cstdint>
#include <vector>

namespace xclip::vision {

enum class Filter { Bilinear, Bicubic };
enum class Precision { Torch, Pil };

struct Coefficients {
  int ksize = 0;
  int precision = 0;             // fixed-point fraction bits
  std::vector<int> first;        // first input index of each output position
  std::vector<int> count;        // number of taps of each output position
  std::vector<std::int32_t> weights;  // [out_size * ksize]
  bool fits_int16 = false;            // every weight in [-32768, 32767] (SIMD kernels need it)
  std::vector<std::int32_t> pairs;    // int16 weight pairs packed in int32, [out_size * (ksize+1)/2]
};

Coefficients compute_coefficients(int in_size, int out_size, Filter filter, Precision precision);

// The window [top, top + window_h) x [left, left + window_w) of `src` (HWC, 3 channels,
// in_h x in_w) resized to out_h x out_w; only that window is computed. dst is HWC.
void resize_window(const std::uint8_t* src, int in_h, int in_w, int out_h, int out_w, int top, int left, int window_h,
                   int window_w, Filter filter, Precision precision, std::uint8_t* dst);

// Nearest-neighbour variant: torch picks floor(dst · in/out) (float32 scale), Pillow
// floor((dst + 0.5) · in/out).
void resize_nearest_window(const std::uint8_t* src, int in_h, int in_w, int out_h, int out_w, int top, int left,
                           int window_h, int window_w, Precision precision, std::uint8_t* dst);

}  // namespace xclip::vision
