// VideoMAEImageProcessor as X-CLIP uses it: resize (shortest edge or fixed size), centre crop,
// rescale, normalise, channels first; and XCLIPProcessor on top of it and the tokenizer.
#include <sys/stat.h>


#include <cmath>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/parallel.h"
#include "io/json.h"
#include "io/mmap_file.h"
#include "vision/resample.h"
#include "xclip/processor.h"

namespace xclip {

using json = nlohmann::json;

namespace {

int positive_int(const json& v, const std::string& what) {
  XCLIP_CHECK(v.is_number_integer() && v.get<long long>() > 0 && v.get<long long>() < (1 << 20), FormatError)
      << what << " must be a positive integer, got " << v.dump();
  return v.get<int>();
}

bool bool_field(const json& root, const char* key, bool fallback, const std::string& source) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return fallback;
  XCLIP_CHECK(it->is_boolean(), FormatError) << source << ": " << key << " must be true or false, got " << it->dump();
  return it->get<bool>();
}

std::array<double, 3> triple(const json& root, const char* key, std::array<double, 3> fallback, const std::string& source) {
  auto it = root.find(key);
  if (it == root.end() || it->is_null()) return fallback;
  if (it->is_number()) return {it->get<double>(), it->get<double>(), it->get<double>()};
  XCLIP_CHECK(it->is_array() && it->size() == 3, FormatError) << source << ": " << key << " must be a number or 3 numbers";
  std::array<double, 3> out{};
  for (int i = 0; i < 3; ++i) {
    XCLIP_CHECK((*it)[i].is_number(), FormatError) << source << ": " << key << "[" << i << "] is not a number";
    out[i] = (*it)[i].get<double>();
  }
  return out;
}

struct Placement {
  int src = 0;   // first row/column of the resized image that is kept
  int dst = 0;   // where it lands in the output (non-zero when the crop pads)
  int count = 0;
};

// One dimension of the centre crop, with each backend's rounding and padding.
Placement crop_placement(int size, int crop, ResizeBackend backend) {
  if (crop > size) {
    const int pad = backend == ResizeBackend::Torchvision ? (crop - size) / 2 : (crop - size + 1) / 2;
    return {0, pad, size};
  }
  // Both transformers paths truncate (size - crop) / 2 (torchvision's own center_crop would
  // round half to even; transformers 5.x crops with its own anchor).
  return {(size - crop) / 2, 0, crop};
}

}  // namespace

ImageProcessorConfig ImageProcessorConfig::from_json(const std::string& json_text, const std::string& source) {
  json root = io::parse_json_object(json_text, source);
  if (root.contains("image_processor") && root["image_processor"].is_object()) root = root["image_processor"];  // 5.x
  if (auto t = root.find("image_processor_type"); t != root.end() && t->is_string()) {
    const std::string type = t->get<std::string>();
    XCLIP_CHECK(type.rfind("VideoMAEImageProcessor", 0) == 0, UnsupportedError)
        << source << ": image_processor_type '" << type << "' is not supported (VideoMAEImageProcessor)";
  }
  ImageProcessorConfig c;
  c.do_resize = bool_field(root, "do_resize", c.do_resize, source);
  c.do_center_crop = bool_field(root, "do_center_crop", c.do_center_crop, source);
  c.do_rescale = bool_field(root, "do_rescale", c.do_rescale, source);
  c.do_normalize = bool_field(root, "do_normalize", c.do_normalize, source);
  if (auto it = root.find("size"); it != root.end() && !it->is_null()) {
    if (it->is_number()) {
      c.shortest_edge = positive_int(*it, source + ": size");
    } else {
      XCLIP_CHECK(it->is_object(), FormatError) << source << ": size must be a number or an object";
      if (it->contains("shortest_edge")) {
        c.shortest_edge = positive_int((*it)["shortest_edge"], source + ": size.shortest_edge");
      } else {
        XCLIP_CHECK(it->contains("height") && it->contains("width"), FormatError)
            << source << ": size must have shortest_edge, or height and width; got " << it->dump();
        c.shortest_edge.reset();
        c.height = positive_int((*it)["height"], source + ": size.height");
        c.width = positive_int((*it)["width"], source + ": size.width");
      }
    }
  }
  if (auto it = root.find("crop_size"); it != root.end() && !it->is_null()) {
    if (it->is_number()) {
      c.crop_height = c.crop_width = positive_int(*it, source + ": crop_size");
    } else {
      XCLIP_CHECK(it->is_object() && it->contains("height") && it->contains("width"), FormatError)
          << source << ": crop_size must be a number or {height, width}; got " << it->dump();
      c.crop_height = positive_int((*it)["height"], source + ": crop_size.height");
      c.crop_width = positive_int((*it)["width"], source + ": crop_size.width");
    }
  }
  if (auto it = root.find("resample"); it != root.end() && !it->is_null()) {
    XCLIP_CHECK(it->is_number_integer(), FormatError) << source << ": resample must be a PIL filter code";
    const int r = it->get<int>();
    XCLIP_CHECK(r == 0 || r == 2 || r == 3, UnsupportedError)
        << source << ": resample = " << r << " is not supported (0 nearest, 2 bilinear, 3 bicubic)";
    c.resample = static_cast<Resample>(r);
  }
  if (auto it = root.find("rescale_factor"); it != root.end() && !it->is_null()) {
    XCLIP_CHECK(it->is_number() && it->get<double>() > 0, FormatError) << source << ": rescale_factor must be positive";
    c.rescale_factor = it->get<double>();
  }
  c.image_mean = triple(root, "image_mean", c.image_mean, source);
  c.image_std = triple(root, "image_std", c.image_std, source);
  for (double s : c.image_std) XCLIP_CHECK(s != 0.0, FormatError) << source << ": image_std contains 0";
  return c;
}

ImageProcessorConfig ImageProcessorConfig::from_file(const std::string& path) {
  return from_json(io::read_text_file(path), path);
}

VideoProcessor::VideoProcessor(ImageProcessorConfig config, ResizeBackend backend)
    : config_(std::move(config)), backend_(backend) {}

VideoProcessor VideoProcessor::from_folder(const std::string& dir, ResizeBackend backend) {
  return VideoProcessor(ImageProcessorConfig::from_file(dir + "/preprocessor_config.json"), backend);
}

Tensor VideoProcessor::preprocess_video(const Tensor& frames) const {
  const ImageProcessorConfig& c = config_;
  XCLIP_CHECK(frames.defined() && frames.dtype() == DType::U8 && frames.rank() == 4, InvalidArgument)
      << "frames: expected U8 [frames, height, width, channels], got " << frames.describe();
  const std::int64_t t = frames.dim(0), h = frames.dim(1), w = frames.dim(2), ch = frames.dim(3);
  XCLIP_CHECK(t > 0 && h > 0 && w > 0, InvalidArgument) << "frames: empty video or zero-sized frames " << frames.describe();
  XCLIP_CHECK(ch == 1 || ch == 3 || ch == 4, InvalidArgument)
      << "frames: " << ch << " channels; expected 1 (gray), 3 (RGB) or 4 (RGBA)";
  XCLIP_CHECK(h < (1 << 16) && w < (1 << 16), InvalidArgument) << "frames: " << h << "x" << w << " is too large";

  // Size after resizing (transformers' get_resize_output_image_size, default_to_square=False).
  int rh = static_cast<int>(h), rw = static_cast<int>(w);
  if (c.do_resize) {
    if (c.shortest_edge) {
      const int short_side = static_cast<int>(std::min(h, w)), long_side = static_cast<int>(std::max(h, w));
      const int new_short = *c.shortest_edge;
      const int new_long = static_cast<int>(static_cast<double>(static_cast<long long>(new_short) * long_side) / short_side);
      rh = w <= h ? new_long : new_short;
      rw = w <= h ? new_short : new_long;
    } else {
      rh = *c.height;
      rw = *c.width;
    }
  }
  Placement py{0, 0, rh}, px{0, 0, rw};
  int out_h = rh, out_w = rw;
  if (c.do_center_crop) {
    py = crop_placement(rh, c.crop_height, backend_);
    px = crop_placement(rw, c.crop_width, backend_);
    out_h = c.crop_height;
    out_w = c.crop_width;
  }

  // Per channel, the float value of each 8-bit level: exactly the arithmetic of the backend.
  float lut[3][256];
  for (int k = 0; k < 3; ++k) {
    const float mean = static_cast<float>(c.image_mean[k]), std = static_cast<float>(c.image_std[k]);
    for (int v = 0; v < 256; ++v) {
      float x = static_cast<float>(v);
      if (backend_ == ResizeBackend::Torchvision) {
        const float inv = static_cast<float>(1.0 / c.rescale_factor);
        if (c.do_rescale && c.do_normalize) x = (x - mean * inv) / (std * inv);  // fused as transformers 5.x does
        else if (c.do_rescale) x = x * static_cast<float>(c.rescale_factor);
        else if (c.do_normalize) x = (x - mean) / std;
      } else {
        if (c.do_rescale) x = static_cast<float>(static_cast<double>(v) * c.rescale_factor);
        if (c.do_normalize) x = (x - mean) / std;
      }
      lut[k][v] = x;
    }
  }

  Tensor out = Tensor::empty(DType::F32, {t, 3, out_h, out_w});
  std::vector<std::uint8_t> rgb(ch == 3 ? 0 : static_cast<std::size_t>(h * w * 3));
  std::vector<std::uint8_t> canvas(static_cast<std::size_t>(out_h) * out_w * 3);
  std::vector<std::uint8_t> window(static_cast<std::size_t>(py.count) * px.count * 3);
  const vision::Precision precision =
      backend_ == ResizeBackend::Torchvision ? vision::Precision::Torch : vision::Precision::Pil;
  for (std::int64_t f = 0; f < t; ++f) {
    const std::uint8_t* src = frames.data<std::uint8_t>() + f * h * w * ch;
    if (ch != 3) {  // gray -> RGB by repetition; RGBA -> RGB by dropping alpha
      for (std::int64_t p = 0; p < h * w; ++p)
        for (int k = 0; k < 3; ++k) rgb[p * 3 + k] = src[p * ch + (ch == 1 ? 0 : k)];
      src = rgb.data();
    }
    // No resize, or already the target size: the resamplers copy (a pass whose size does not
    // change is skipped; nearest maps every pixel to itself).
    if (c.resample == Resample::Nearest) {
      vision::resize_nearest_window(src, static_cast<int>(h), static_cast<int>(w), rh, rw, py.src, px.src, py.count,
                                    px.count, precision, window.data());
    } else {
      vision::resize_window(src, static_cast<int>(h), static_cast<int>(w), rh, rw, py.src, px.src, py.count, px.count,
                            c.resample == Resample::Bicubic ? vision::Filter::Bicubic : vision::Filter::Bilinear,
                            precision, window.data());
    }
    std::fill(canvas.begin(), canvas.end(), 0);  // crop padding is black, as in both libraries
    for (int y = 0; y < py.count; ++y)
      std::memcpy(&canvas[(static_cast<std::size_t>(py.dst + y) * out_w + px.dst) * 3],
                  &window[static_cast<std::size_t>(y) * px.count * 3], static_cast<std::size_t>(px.count) * 3);
    float* dst = out.mutable_data<float>() + f * 3 * out_h * out_w;
    const std::int64_t plane = static_cast<std::int64_t>(out_h) * out_w;
    parallel_for(0, plane, 1 << 14, [&](std::int64_t lo, std::int64_t hi) {
      for (std::int64_t p = lo; p < hi; ++p)
        for (int k = 0; k < 3; ++k) dst[k * plane + p] = lut[k][canvas[p * 3 + k]];
    });
  }
  return out;
}

Tensor VideoProcessor::preprocess(const std::vector<Tensor>& videos) const {
  XCLIP_CHECK(!videos.empty(), InvalidArgument) << "no videos to preprocess";
  std::vector<Tensor> processed;
  for (std::size_t i = 0; i < videos.size(); ++i) {
    try {
      processed.push_back(preprocess_video(videos[i]));
    } catch (const InvalidArgument& e) {
      XCLIP_FAIL(InvalidArgument) << "video " << i << ": " << e.what();
    }
    XCLIP_CHECK(processed.back().shape() == processed.front().shape(), InvalidArgument)
        << "video " << i << " gives " << shape_to_string(processed.back().shape()) << " but video 0 gives "
        << shape_to_string(processed.front().shape()) << "; every video needs the same frame count and output size";
  }
  std::vector<std::int64_t> shape = processed.front().shape();
  shape.insert(shape.begin(), static_cast<std::int64_t>(videos.size()));
  Tensor out = Tensor::empty(DType::F32, shape);
  const std::size_t bytes = processed.front().nbytes();
  for (std::size_t i = 0; i < processed.size(); ++i)
    std::memcpy(static_cast<char*>(out.mutable_raw()) + i * bytes, processed[i].raw(), bytes);
  return out;
}

XCLIPProcessor::XCLIPProcessor(Tokenizer tokenizer, VideoProcessor video_processor)
    : tokenizer_(std::move(tokenizer)), video_processor_(std::move(video_processor)) {}

XCLIPProcessor XCLIPProcessor::from_folder(const std::string& dir, ResizeBackend backend) {
  return XCLIPProcessor(Tokenizer::from_folder(dir), VideoProcessor::from_folder(dir, backend));
}

XCLIPProcessor XCLIPProcessor::from_pretrained(const std::string& path_or_id, ResizeBackend backend,
                                               const HubOptions& hub) {
  std::error_code ec;
  const bool folder = std::filesystem::is_directory(path_or_id, ec);
  return from_folder(folder ? path_or_id : resolve_model(path_or_id, hub), backend);
}

ProcessorOutput XCLIPProcessor::operator()(const std::vector<std::string>& texts, const std::vector<Tensor>& videos,
                                           const TokenizeOptions& options) const {
  XCLIP_CHECK(!texts.empty() || !videos.empty(), InvalidArgument) << "XCLIPProcessor needs texts, videos or both";
  ProcessorOutput out;
  if (!texts.empty()) std::tie(out.input_ids, out.attention_mask) = tokenizer_.encode_to_tensors(texts, options);
  if (!videos.empty()) out.pixel_values = video_processor_.preprocess(videos);
  return out;
}

}  // namespace xclip
