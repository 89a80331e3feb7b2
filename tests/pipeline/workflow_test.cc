// The library workflow (include/xclip/pipeline.h) against the model called directly on the
// same frames; towers loaded alone; weight_shapes / from_weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "support/model_fixture.h"
#include "support/test_videos.h"

namespace xclip::test {
namespace {

const std::vector<std::string> kLabels = {"playing sports", "eating spaghetti", "go shopping"};

std::string make_clip(const std::string& name, const std::string& source) {
  return xclip::test::make_clip("workflow_videos", name, source);
}

// [1, T, 3, h, w] of the frames `indices` of `path`, as the workflow prepares them.
Tensor pixels_of(const XCLIPProcessor& processor, const std::string& path, const std::vector<std::int64_t>& indices) {
  VideoReader reader = VideoReader::open(path);
  return processor.video_processor().preprocess({reader.frames_at(indices).frames});
}

TEST(WorkflowTest, ClassifyStreamsResultsInOrderAndMatchesTheModel) {
  const std::string a = make_clip("a.mp4", "testsrc2=size=160x120:rate=25:duration=2");
  const std::string b = make_clip("b.mp4", "mandelbrot=size=96x64:rate=10:end_pts=2 -t 2");
  WorkflowOptions options;
  options.batch_size = 2;
  Workflow workflow(tiny_model_dir(), options);
  std::vector<VideoResult> results;
  std::vector<std::size_t> progress;
  const std::size_t failures = workflow.classify(
      {a, "/nonexistent.mp4", b}, kLabels, [&](const VideoResult& r) { results.push_back(r); },
      [&](const WorkflowProgress& p) { progress.push_back(p.done * 10 + p.failed); });
  EXPECT_EQ(failures, 1u);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(progress, (std::vector<std::size_t>{10, 21, 31}));
  EXPECT_FALSE(results[1].ok());
  EXPECT_NE(results[1].error.find("/nonexistent.mp4"), std::string::npos) << results[1].error;

  Session session(workflow.model());
  const Tensor labels = workflow.embed_texts(kLabels);
  for (std::size_t i : {0u, 2u}) {
    const VideoResult& r = results[i];
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.path, i == 0 ? a : b);
    double sum = 0;
    for (float p : r.probabilities) sum += p;
    EXPECT_NEAR(sum, 1.0, 1e-6);
    const Tensor logits = session.forward_with_text_features(
        pixels_of(workflow.processor(), r.path, r.frame_indices[0]), labels).at("logits_per_video");
    for (std::size_t j = 0; j < kLabels.size(); ++j) EXPECT_NEAR(r.logits[j], logits.data<float>()[j], 2e-5);
  }
}

TEST(WorkflowTest, EmbedAveragesViewsAndNormalizes) {
  const std::string a = make_clip("a.mp4", "testsrc2=size=160x120:rate=25:duration=2");
  WorkflowOptions options;
  options.sampling.clips = 2;
  options.normalize = true;
  Workflow workflow(tiny_model_dir(), options);
  std::vector<VideoResult> results;
  workflow.embed_videos({a}, [&](const VideoResult& r) { results.push_back(r); });
  ASSERT_EQ(results.size(), 1u);
  ASSERT_EQ(results[0].frame_indices.size(), 2u);
  Session session(workflow.model());
  std::vector<double> mean(results[0].embedding.size(), 0.0);
  for (const auto& indices : results[0].frame_indices) {
    const Tensor f = session.get_video_features(pixels_of(workflow.processor(), a, indices));
    for (std::size_t i = 0; i < mean.size(); ++i) mean[i] += f.data<float>()[i] / 2.0;
  }
  double norm = 0;
  for (double v : mean) norm += v * v;
  for (std::size_t i = 0; i < mean.size(); ++i)
    EXPECT_NEAR(results[0].embedding[i], mean[i] / std::sqrt(norm), 1e-5);
}

TEST(WorkflowTest, RefusesOptionsTheModelCannotTake) {
  WorkflowOptions options;
  options.sampling.num_frames = 3;
  try {
    Workflow workflow(tiny_model_dir(), options);
    FAIL() << "3 frames accepted by a 4-frame model";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("takes 4 frames"), std::string::npos) << e.what();
  }
  options.sampling.num_frames = 0;
  options.batch_size = 0;
  EXPECT_THROW(Workflow(tiny_model_dir(), options), InvalidArgument);
  Workflow workflow(tiny_model_dir());
  EXPECT_THROW(workflow.embed_texts({}), InvalidArgument);
  EXPECT_THROW(workflow.classify({"x.mp4"}, std::vector<std::string>{}, nullptr), InvalidArgument);
}

// The numbers every front-end reports, from one definition.
TEST(ResultsTest, ViewsAverageAndLabelsRank) {
  const float logits[] = {1.0f, 2.0f, 3.0f,   // view 1
                          3.0f, 2.0f, 1.0f};  // view 2
  const ViewAverage a = average_view_scores(logits, 2, 3);
  const std::vector<double> p = softmax(logits, 3);
  EXPECT_NEAR(a.probabilities[0], (p[0] + p[2]) / 2, 1e-7);
  EXPECT_NEAR(a.probabilities[1], p[1], 1e-7);
  EXPECT_FLOAT_EQ(a.logits[0], 2.0f);
  EXPECT_NEAR(a.probabilities[0] + a.probabilities[1] + a.probabilities[2], 1.0, 1e-6);
  // Equal probabilities keep the labels' order; top cuts.
  const auto ranked = rank_labels({"a", "b", "c"}, a.probabilities, a.logits, 2);
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].label, "a");
  EXPECT_EQ(ranked[1].label, "c");
  EXPECT_FLOAT_EQ(ranked[1].logit, 2.0f);
  EXPECT_EQ(rank_labels({"a"}, {1.0f}, {0.5f}, 10).size(), 1u);
  EXPECT_THROW(rank_labels({"a", "b"}, {1.0f}, {0.5f}, 1), InvalidArgument);
  const float rows[] = {1, 2, 3, 4};
  EXPECT_EQ(average_view_embeddings(rows, 2, 2), (std::vector<float>{2, 3}));
}

TEST(ResultsTest, FramesForModelAndPromptFeatures) {
  const auto model = Model::load(tiny_model_dir());
  SamplingOptions s;
  EXPECT_EQ(frames_for_model(*model, s), model->config().vision_config.num_frames);
  s.num_frames = model->config().vision_config.num_frames + 1;
  EXPECT_THROW(frames_for_model(*model, s), InvalidArgument);
  s.indices = std::vector<std::int64_t>(static_cast<std::size_t>(model->config().vision_config.num_frames), 0);
  EXPECT_NO_THROW(frames_for_model(*model, s));  // explicit indices: their count is what counts
  Session session(model);
  const XCLIPProcessor processor = XCLIPProcessor::from_folder(tiny_model_dir());
  const Tensor f = prompt_features(session, processor.tokenizer(), {"a dog", "a video of a cat running"});
  EXPECT_EQ(f.dim(0), 2);
  EXPECT_EQ(f.dim(1), model->config().projection_dim);
  EXPECT_EQ(snapshot_revision("/cache/models--a--b/snapshots/0123abc/"), "0123abc");
  EXPECT_EQ(snapshot_revision(tiny_model_dir()), "local");
}

TEST(ModelPartTest, TowersLoadAloneAndMatchTheFullModel) {
  const TinyInputs in = tiny_inputs();
  Session full(Model::load(tiny_model_dir()));
  ForwardOptions options;
  const NamedTensors reference = full.forward({in.input_ids, in.attention_mask, in.pixel_values}, options);

  LoadOptions text_only;
  text_only.part = ModelPart::TextModel;
  Session text(Model::load(tiny_model_dir(), text_only));
  const NamedTensors t = text.text_model(in.input_ids, in.attention_mask);
  for (const char* name : {"last_hidden_state", "pooler_output"}) {
    const Tensor& ours = t.at(name);
    const Tensor& ref = reference.at(std::string("text_model_output/") + name);
    ASSERT_EQ(ours.shape(), ref.shape());
    for (std::int64_t i = 0; i < ours.numel(); ++i) EXPECT_EQ(ours.data<float>()[i], ref.data<float>()[i]) << name;
  }
  EXPECT_THROW(text.get_video_features(in.pixel_values), InvalidArgument);

  LoadOptions vision_only;
  vision_only.part = ModelPart::VisionModel;
  Session vision(Model::load(tiny_model_dir(), vision_only));
  const std::vector<std::int64_t>& s = in.pixel_values.shape();
  const NamedTensors v = vision.vision_model(in.pixel_values.reshaped({s[0] * s[1], s[2], s[3], s[4]}));
  const Tensor& ref = reference.at("vision_model_output/pooler_output");
  ASSERT_EQ(v.at("pooler_output").shape(), ref.shape());
  for (std::int64_t i = 0; i < ref.numel(); ++i) EXPECT_EQ(v.at("pooler_output").data<float>()[i], ref.data<float>()[i]);
  // 3 images are not a whole number of 4-frame videos.
  EXPECT_THROW(vision.vision_model(Tensor::from_values<float>(DType::F32, {3, s[2], s[3], s[4]},
                                                               in.pixel_values.data<float>())),
               InvalidArgument);
  EXPECT_THROW(vision.text_model(in.input_ids), InvalidArgument);
}

TEST(ModelPartTest, WeightShapesDescribeTheCheckpointAndFromWeightsLoadsIt) {
  const XCLIPConfig config = XCLIPConfig::from_file(tiny_model_dir() + "/config.json");
  std::map<std::string, Tensor> weights;
  for (auto& [name, t] : tiny_tensors()) weights.emplace(name, t);
  std::size_t float_tensors = 0;
  for (const auto& [name, t] : weights) float_tensors += t.dtype() == DType::F32;
  const auto shapes = Model::weight_shapes(config);
  EXPECT_EQ(shapes.size(), float_tensors);
  for (const auto& [name, shape] : shapes) {
    ASSERT_TRUE(weights.count(name)) << name;
    EXPECT_EQ(weights.at(name).shape(), shape) << name;
  }
  const auto text_shapes = Model::weight_shapes(config, ModelPart::TextModel);
  for (const auto& entry : text_shapes) EXPECT_EQ(entry.first.rfind("text_model.", 0), 0u) << entry.first;

  const TinyInputs in = tiny_inputs();
  Session loaded(Model::load(tiny_model_dir()));
  Session built(Model::from_weights(config, weights));
  const Tensor a = loaded.get_text_features(in.input_ids, in.attention_mask);
  const Tensor b = built.get_text_features(in.input_ids, in.attention_mask);
  for (std::int64_t i = 0; i < a.numel(); ++i) EXPECT_EQ(a.data<float>()[i], b.data<float>()[i]);
  weights.erase("logit_scale");
  EXPECT_THROW(Model::from_weights(config, weights), FormatError);
}

TEST(SafetensorsApiTest, RoundTripAndErrors) {
  const std::string path = scratch_dir() + "/api_roundtrip.safetensors";
  const float values[] = {1, 2, 3, 4, 5, 6};
  save_safetensors(path, {{"x", Tensor::from_values<float>(DType::F32, {2, 3}, values)}}, {{"k", "v"}});
  const SafetensorsContents c = load_safetensors(path);
  EXPECT_EQ(c.names, std::vector<std::string>{"x"});
  EXPECT_EQ(c.metadata.at("k"), "v");
  EXPECT_EQ(c.at("x").data<float>()[5], 6.0f);
  EXPECT_THROW(c.at("y"), FormatError);
  EXPECT_THROW(load_safetensors(scratch_dir() + "/missing.safetensors"), IoError);
}

}  // namespace
}  // namespace xclip::test

namespace xclip::test {
namespace {

// prepare_video preprocesses each frame as it is decoded; the numbers must be those of
// decoding the clip whole and preprocessing it (sparse targets over several keyframe stretches
// run on parallel decoders; repeated indices share one decoded frame).
TEST(PrepareVideo, StreamedFramesEqualTheWholeClip) {
  const std::string path = make_clip("prepare.mp4", "testsrc2=size=320x240:rate=25:duration=8");
  const VideoProcessor processor = VideoProcessor::from_folder(tiny_model_dir());
  for (const int clips : {1, 3}) {
    SamplingOptions s;
    s.num_frames = 8;
    s.clips = clips;
    VideoReader reader = VideoReader::open(path);
    const PreparedClips prepared = prepare_video(reader, s, processor);
    const SampledClips sampled = sample_clips(reader, s);
    ASSERT_EQ(prepared.clips.size(), sampled.indices.size());
    for (std::size_t k = 0; k < sampled.indices.size(); ++k) {
      EXPECT_EQ(prepared.indices[k], sampled.indices[k]);
      const Tensor whole = processor.preprocess({reader.frames_at(sampled.indices[k]).frames});
      ASSERT_EQ(prepared.clips[k].shape(), whole.shape());
      EXPECT_EQ(std::memcmp(prepared.clips[k].raw(), whole.raw(), whole.nbytes()), 0) << "clip " << k;
    }
  }
  VideoReader reader = VideoReader::open(path);
  SamplingOptions repeated;
  repeated.indices = {5, 5, 150, 5};
  const PreparedClips p = prepare_video(reader, repeated, processor);
  const Tensor whole = processor.preprocess({reader.frames_at({5, 5, 150, 5}).frames});
  EXPECT_EQ(std::memcmp(p.clips[0].raw(), whole.raw(), whole.nbytes()), 0);
}

}  // namespace
}  // namespace xclip::test
