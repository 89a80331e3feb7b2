// Uses the installed public API only: load a model folder, embed a text, print its size.
#include <xclip/xclip.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer MODEL_DIR\n");
    return 2;
  }
  try {
    const auto model = xclip::Model::load(argv[1]);
    const xclip::Tokenizer tokenizer = xclip::Tokenizer::from_folder(argv[1]);
    xclip::TokenizeOptions options;
    options.padding = xclip::Padding::Longest;
    const auto [ids, mask] = tokenizer.encode_to_tensors({"a dog catching a frisbee"}, options);
    xclip::Session session(model);
    const xclip::Tensor features = session.get_text_features(ids, mask);
    std::printf("xclip %s: text features %lld x %lld, %s\n", XCLIP_VERSION_STRING,
                static_cast<long long>(features.dim(0)), static_cast<long long>(features.dim(1)),
                xclip::weight_type_name(model->weights()));
    return features.dim(1) == model->config().projection_dim ? 0 : 1;
  } catch (const xclip::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
}
