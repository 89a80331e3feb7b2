// XCLIPProcessor: the CLIP tokenizer plus VideoMAEImageProcessor, giving the input_ids,
// attention_mask and pixel_values transformers gives for the same texts and frames.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "xclip/hub.h"
#include "xclip/tensor.h"
#include "xclip/tokenizer.h"

namespace xclip {

// PIL's resampling codes, as preprocessor_config.json stores them.
enum class Resample { Nearest = 0, Bicubic = 3, Bilinear = 2 };

// Which implementation's arithmetic to reproduce bit for bit.
enum class ResizeBackend {
  Torchvision,  // transformers 5.x default (VideoMAEImageProcessor): torch's uint8 antialiased resize
  Pil,          // transformers 4.x behaviour (VideoMAEImageProcessorPil): Pillow's Image.resize
};

// Field names and class defaults of VideoMAEImageProcessor.
struct ImageProcessorConfig {
  bool do_resize = true;
  std::optional<int> shortest_edge = 224;  // size = {"shortest_edge": N} (or "size": N)
  std::optional<int> height, width;        // size = {"height": H, "width": W}
  Resample resample = Resample::Bilinear;
  bool do_center_crop = true;
  int crop_height = 224, crop_width = 224;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  std::array<double, 3> image_mean = {0.5, 0.5, 0.5};
  std::array<double, 3> image_std = {0.5, 0.5, 0.5};

  // preprocessor_config.json text, flat (4.x) or nested under "image_processor" (5.x).
  static ImageProcessorConfig from_json(const std::string& json_text, const std::string& source);
  static ImageProcessorConfig from_file(const std::string& path);
};

class VideoProcessor {
 public:
  explicit VideoProcessor(ImageProcessorConfig config = {}, ResizeBackend backend = ResizeBackend::Torchvision);
  // preprocessor_config.json of a model folder.
  static VideoProcessor from_folder(const std::string& dir, ResizeBackend backend = ResizeBackend::Torchvision);

  // frames: U8 [frames, height, width, channels], channels 1 (gray), 3 (RGB) or 4 (RGBA,
  // alpha dropped). Returns F32 [frames, 3, out_height, out_width].
  Tensor preprocess_video(const Tensor& frames) const;
  // Several videos (sizes may differ) -> F32 [videos, frames, 3, h, w]; every video must
  // give the same frame count and output size.
  Tensor preprocess(const std::vector<Tensor>& videos) const;

  const ImageProcessorConfig& config() const { return config_; }
  ResizeBackend backend() const { return backend_; }

 private:
  ImageProcessorConfig config_;
  ResizeBackend backend_;
};

struct ProcessorOutput {
  Tensor input_ids;       // I64 [texts, length] (undefined without texts)
  Tensor attention_mask;  // I64 [texts, length]
  Tensor pixel_values;    // F32 [videos, frames, 3, h, w] (undefined without videos)
};

class XCLIPProcessor {
 public:
  XCLIPProcessor(Tokenizer tokenizer, VideoProcessor video_processor);
  static XCLIPProcessor from_folder(const std::string& dir, ResizeBackend backend = ResizeBackend::Torchvision);
  // A folder or a hub id "org/name[@revision]" (resolve_model).
  static XCLIPProcessor from_pretrained(const std::string& path_or_id,
                                        ResizeBackend backend = ResizeBackend::Torchvision,
                                        const HubOptions& hub = {});

  // Texts and/or videos; InvalidArgument when both are empty.
  ProcessorOutput operator()(const std::vector<std::string>& texts, const std::vector<Tensor>& videos,
                             const TokenizeOptions& options = {}) const;

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const VideoProcessor& video_processor() const { return video_processor_; }

 private:
  Tokenizer tokenizer_;
  VideoProcessor video_processor_;
};

}  // namespace xclip
