// config.json -> XCLIPConfig. Accepts the transformers 4.x layout (generic PretrainedConfig
// fields everywhere, older hub files with text_config_dict / vision_config_dict) and the 5.x
// one; unknown fields are ignored, absent or null fields take XCLIPConfig's defaults.
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/json.h"
#include "io/mmap_file.h"
#include "xclip/config.h"

namespace xclip {

namespace {

using json = nlohmann::json;

class FieldReader {
 public:
  FieldReader(const json& object, std::string context) : object_(object), context_(std::move(context)) {}

  void read(const char* key, int& value) const {
    const json* v = find(key);
    if (!v) return;
    const bool integral = v->is_number_integer() ||
                          (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>());
    XCLIP_CHECK(integral, FormatError) << context_ << "." << key << " must be an integer, got " << v->dump();
    const double d = v->get<double>();
    XCLIP_CHECK(d >= -2147483648.0 && d <= 2147483647.0, FormatError) << context_ << "." << key << " is out of range: " << v->dump();
    value = static_cast<int>(d);
  }
  void read(const char* key, double& value) const {
    const json* v = find(key);
    if (!v) return;
    XCLIP_CHECK(v->is_number(), FormatError) << context_ << "." << key << " must be a number, got " << v->dump();
    value = v->get<double>();
  }
  void read(const char* key, std::string& value) const {
    const json* v = find(key);
    if (!v) return;
    XCLIP_CHECK(v->is_string(), FormatError) << context_ << "." << key << " must be a string, got " << v->dump();
    value = v->get<std::string>();
  }

 private:
  const json* find(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  const json& object_;
  std::string context_;
};

// transformers' ACT2FN names that the kernels implement.
void check_activation(const std::string& name, const std::string& field) {
  static const std::set<std::string> kKnown = {"quick_gelu", "gelu", "gelu_new", "gelu_pytorch_tanh",
                                               "gelu_fast", "relu", "silu", "swish"};
  XCLIP_CHECK(kKnown.count(name) != 0, FormatError)
      << field << " = '" << name
      << "' is not supported (expected one of quick_gelu, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu)";
}

// The sub-config: `name` overlaid with `name_dict` (old hub files carry both).
json sub_config(const json& root, const std::string& name, const std::string& source) {
  json merged = json::object();
  for (const std::string& key : {name, name + "_dict"}) {
    auto it = root.find(key);
    if (it == root.end() || it->is_null()) continue;
    XCLIP_CHECK(it->is_object(), FormatError) << source << ": " << key << " must be an object";
    for (auto f = it->begin(); f != it->end(); ++f) merged[f.key()] = f.value();
  }
  return merged;
}

void check_positive(int value, const std::string& field) {
  XCLIP_CHECK(value > 0, FormatError) << field << " must be positive, got " << value;
}

void check_divisible(int a, int b, const std::string& what) {
  XCLIP_CHECK(b > 0 && a % b == 0, FormatError) << what << ": " << a << " is not divisible by " << b;
}

using IntFields = std::initializer_list<std::pair<int, const char*>>;

void validate(const XCLIPConfig& c, const std::string& source) {
  const XCLIPTextConfig& t = c.text_config;
  const XCLIPVisionConfig& v = c.vision_config;
  const std::string tp = source + ": text_config.";
  const std::string vp = source + ": vision_config.";
  for (auto [value, name] : IntFields{{t.vocab_size, "vocab_size"}, {t.hidden_size, "hidden_size"},
                             {t.intermediate_size, "intermediate_size"}, {t.num_attention_heads, "num_attention_heads"},
                             {t.max_position_embeddings, "max_position_embeddings"}})
    check_positive(value, tp + name);
  XCLIP_CHECK(t.num_hidden_layers >= 0, FormatError) << tp << "num_hidden_layers must be >= 0";
  for (auto [value, name] :
       IntFields{{v.hidden_size, "hidden_size"}, {v.intermediate_size, "intermediate_size"},
        {v.num_attention_heads, "num_attention_heads"}, {v.mit_hidden_size, "mit_hidden_size"},
        {v.mit_intermediate_size, "mit_intermediate_size"}, {v.mit_num_attention_heads, "mit_num_attention_heads"},
        {v.num_channels, "num_channels"}, {v.image_size, "image_size"}, {v.patch_size, "patch_size"},
        {v.num_frames, "num_frames"}})
    check_positive(value, vp + name);
  XCLIP_CHECK(v.num_hidden_layers >= 0 && v.mit_num_hidden_layers >= 0, FormatError) << vp << "layer counts must be >= 0";
  XCLIP_CHECK(v.patch_size <= v.image_size, FormatError) << vp << "patch_size " << v.patch_size << " exceeds image_size " << v.image_size;
  check_positive(c.projection_dim, source + ": projection_dim");
  check_positive(c.prompt_num_attention_heads, source + ": prompt_num_attention_heads");
  XCLIP_CHECK(c.prompt_layers >= 0, FormatError) << source << ": prompt_layers must be >= 0";
  check_divisible(t.hidden_size, t.num_attention_heads, tp + "hidden_size / num_attention_heads");
  check_divisible(v.hidden_size, v.num_attention_heads, vp + "hidden_size / num_attention_heads");
  check_divisible(v.mit_hidden_size, v.mit_num_attention_heads, vp + "mit_hidden_size / mit_num_attention_heads");
  check_divisible(c.projection_dim, c.prompt_num_attention_heads, source + ": projection_dim / prompt_num_attention_heads");
  XCLIP_CHECK(v.mit_hidden_size == c.projection_dim, FormatError)
      << source << ": vision_config.mit_hidden_size (" << v.mit_hidden_size << ") must equal projection_dim ("
      << c.projection_dim << "): the MIT consumes the visual projection";
  check_activation(t.hidden_act, source + ": text_config.hidden_act");
  check_activation(v.hidden_act, source + ": vision_config.hidden_act");
  check_activation(c.prompt_hidden_act, source + ": prompt_hidden_act");
  XCLIP_CHECK(t.layer_norm_eps > 0 && v.layer_norm_eps > 0, FormatError) << source << ": layer_norm_eps must be positive";
}

}  // namespace

XCLIPConfig XCLIPConfig::from_json(const std::string& json_text, const std::string& source) {
  const json root = io::parse_json_object(json_text, source);
  if (auto mt = root.find("model_type"); mt != root.end() && mt->is_string()) {
    XCLIP_CHECK(mt->get<std::string>() == "xclip", FormatError)
        << source << ": model_type is '" << mt->get<std::string>() << "', expected 'xclip'";
  }
  XCLIPConfig c;
  const FieldReader top(root, source);
  top.read("projection_dim", c.projection_dim);
  top.read("prompt_layers", c.prompt_layers);
  top.read("prompt_alpha", c.prompt_alpha);
  top.read("prompt_hidden_act", c.prompt_hidden_act);
  top.read("prompt_num_attention_heads", c.prompt_num_attention_heads);
  top.read("logit_scale_init_value", c.logit_scale_init_value);

  const json text = sub_config(root, "text_config", source);
  const FieldReader tr(text, source + ": text_config");
  XCLIPTextConfig& t = c.text_config;
  tr.read("vocab_size", t.vocab_size);
  tr.read("hidden_size", t.hidden_size);
  tr.read("intermediate_size", t.intermediate_size);
  tr.read("num_hidden_layers", t.num_hidden_layers);
  tr.read("num_attention_heads", t.num_attention_heads);
  tr.read("max_position_embeddings", t.max_position_embeddings);
  tr.read("hidden_act", t.hidden_act);
  tr.read("layer_norm_eps", t.layer_norm_eps);
  tr.read("pad_token_id", t.pad_token_id);
  tr.read("bos_token_id", t.bos_token_id);
  tr.read("eos_token_id", t.eos_token_id);

  const json vision = sub_config(root, "vision_config", source);
  const FieldReader vr(vision, source + ": vision_config");
  XCLIPVisionConfig& v = c.vision_config;
  vr.read("hidden_size", v.hidden_size);
  vr.read("intermediate_size", v.intermediate_size);
  vr.read("num_hidden_layers", v.num_hidden_layers);
  vr.read("num_attention_heads", v.num_attention_heads);
  vr.read("mit_hidden_size", v.mit_hidden_size);
  vr.read("mit_intermediate_size", v.mit_intermediate_size);
  vr.read("mit_num_hidden_layers", v.mit_num_hidden_layers);
  vr.read("mit_num_attention_heads", v.mit_num_attention_heads);
  vr.read("num_channels", v.num_channels);
  vr.read("image_size", v.image_size);
  vr.read("patch_size", v.patch_size);
  vr.read("num_frames", v.num_frames);
  vr.read("hidden_act", v.hidden_act);
  vr.read("layer_norm_eps", v.layer_norm_eps);
  vr.read("drop_path_rate", v.drop_path_rate);

  validate(c, source);
  return c;
}

XCLIPConfig XCLIPConfig::from_file(const std::string& path) {
  return from_json(io::read_text_file(path), path);
}

}  // namespace xclip
