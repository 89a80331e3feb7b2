// What every front-end does with the model's numbers: prompts, softmax over views, ranked
// labels, normalised embeddings. One definition, so the CLI, Python and the server agree.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"
#include "xclip/pipeline.h"

namespace xclip {

std::string apply_template(const std::string& tmpl, const std::string& text) {
  const auto at = tmpl.find("{}");
  return at == std::string::npos ? tmpl + " " + text : tmpl.substr(0, at) + text + tmpl.substr(at + 2);
}

std::vector<double> softmax(const float* logits, std::size_t n) {
  std::vector<double> p(logits, logits + n);
  const double m = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (double& x : p) sum += (x = std::exp(x - m));
  for (double& x : p) x /= sum;
  return p;
}

void l2_normalize(float* v, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(v[i]) * v[i];
  const double inv = s > 0 ? 1.0 / std::sqrt(s) : 0.0;
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(v[i] * inv);
}

int frames_for_model(const Model& model, const SamplingOptions& sampling) {
  const int expected = model.config().vision_config.num_frames;
  const int asked = sampling.num_frames == 0 ? expected : sampling.num_frames;
  const int per_view = sampling.indices.empty() ? asked : static_cast<int>(sampling.indices.size());
  XCLIP_CHECK(per_view == expected || model.interpolate_frames(), InvalidArgument)
      << "this model takes " << expected << " frames per video (its multi-frame integration transformer has "
      << expected << " position embeddings); " << per_view << " frames were asked for: a model loaded with "
      << "interpolate_frames (Python: interpolate_frames=True, CLI: --interpolate-frames) resizes the embeddings "
      << "to other counts";
  return asked;
}

Tensor prompt_features(Session& session, const Tokenizer& tokenizer, const std::vector<std::string>& prompts) {
  XCLIP_CHECK(!prompts.empty(), InvalidArgument) << "no texts to embed";
  TokenizeOptions tok;
  tok.padding = Padding::Longest;
  tok.truncation = true;
  const auto [ids, mask] = tokenizer.encode_to_tensors(prompts, tok);
  return session.get_text_features(ids, mask);
}

ViewAverage average_view_scores(const float* logits, std::size_t views, std::size_t labels) {
  XCLIP_CHECK(views > 0 && labels > 0, InvalidArgument) << "no views or no labels to average";
  std::vector<double> probabilities(labels, 0.0), mean_logits(labels, 0.0);
  for (std::size_t v = 0; v < views; ++v) {
    const float* row = logits + v * labels;
    const std::vector<double> p = softmax(row, labels);
    for (std::size_t i = 0; i < labels; ++i) {
      probabilities[i] += p[i] / static_cast<double>(views);
      mean_logits[i] += row[i] / static_cast<double>(views);
    }
  }
  return {{mean_logits.begin(), mean_logits.end()}, {probabilities.begin(), probabilities.end()}};
}

std::vector<float> average_view_embeddings(const float* rows, std::size_t views, std::size_t dim) {
  XCLIP_CHECK(views > 0, InvalidArgument) << "no views to average";
  std::vector<double> sum(dim, 0.0);
  for (std::size_t v = 0; v < views; ++v)
    for (std::size_t i = 0; i < dim; ++i) sum[i] += rows[v * dim + i];
  std::vector<float> mean(dim);
  for (std::size_t i = 0; i < dim; ++i) mean[i] = static_cast<float>(sum[i] / static_cast<double>(views));
  return mean;
}

std::vector<LabelScore> rank_labels(const std::vector<std::string>& labels, const std::vector<float>& probabilities,
                                    const std::vector<float>& logits, std::size_t top) {
  XCLIP_CHECK(probabilities.size() == labels.size() && logits.size() == labels.size(), InvalidArgument)
      << labels.size() << " labels, " << probabilities.size() << " probabilities and " << logits.size()
      << " logits do not match";
  std::vector<std::size_t> order(labels.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return probabilities[a] > probabilities[b]; });
  order.resize(std::min(top, order.size()));
  std::vector<LabelScore> ranked;
  for (std::size_t i : order) ranked.push_back({labels[i], probabilities[i], logits[i]});
  return ranked;
}

}  // namespace xclip
