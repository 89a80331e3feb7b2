// Model configuration: transformers' XCLIPTextConfig, XCLIPVisionConfig and XCLIPConfig with
// their field names and defaults, parsed from a model folder's config.json.
#pragma once

#include <string>

namespace xclip {

// Field names and defaults of transformers' XCLIPTextConfig.
struct XCLIPTextConfig {
  int vocab_size = 49408;
  int hidden_size = 512;
  int intermediate_size = 2048;
  int num_hidden_layers = 12;
  int num_attention_heads = 8;
  int max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  int pad_token_id = 1;
  int bos_token_id = 0;
  int eos_token_id = 2;
};

// Field names and defaults of transformers' XCLIPVisionConfig.
struct XCLIPVisionConfig {
  int hidden_size = 768;
  int intermediate_size = 3072;
  int num_hidden_layers = 12;
  int num_attention_heads = 12;
  int mit_hidden_size = 512;
  int mit_intermediate_size = 2048;
  int mit_num_hidden_layers = 1;
  int mit_num_attention_heads = 8;
  int num_channels = 3;
  int image_size = 224;
  int patch_size = 32;
  int num_frames = 8;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  double drop_path_rate = 0.0;
};

// Field names and defaults of transformers' XCLIPConfig.
struct XCLIPConfig {
  XCLIPTextConfig text_config;
  XCLIPVisionConfig vision_config;
  int projection_dim = 512;
  int prompt_layers = 2;
  double prompt_alpha = 0.1;
  std::string prompt_hidden_act = "quick_gelu";
  int prompt_num_attention_heads = 8;
  double logit_scale_init_value = 2.6592;

  // Parses config.json text (transformers 4.x and 5.x layouts). `source` names the input
  // in error messages.
  static XCLIPConfig from_json(const std::string& json_text, const std::string& source);
  static XCLIPConfig from_file(const std::string& path);
};

}  // namespace xclip
