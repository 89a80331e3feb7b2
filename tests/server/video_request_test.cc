// Video requests read from their pieces, without a socket: the limits on hostile bodies
// (parts, sizes, missing pieces) and the typed form fields.
#include "video_request.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "xclip/error.h"

namespace xclip::server {
namespace {

namespace fs = std::filesystem;

class VideoRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_private_dir();
    limits_.max_upload_bytes = 1000;
    limits_.max_json_bytes = 200;
    limits_.allow_dirs = {dir_};
  }
  void TearDown() override { fs::remove_all(dir_); }

  // "f<i>" (built by append: GCC 12's -Wrestrict misfires on "f" + std::to_string(i)).
  static std::string field_name(int i) {
    std::string name = "f";
    name.append(std::to_string(i));
    return name;
  }

  // The status of the HttpError `f` throws (0: none).
  template <class F>
  static int status_of(F f) {
    try {
      f();
    } catch (const HttpError& e) {
      return e.status();
    }
    return 0;
  }

  std::string dir_;
  VideoRequestLimits limits_;
};

TEST_F(VideoRequestTest, MultipartGivesTheUploadAndTypedFields) {
  TempFile upload(dir_);
  VideoRequestReader r(VideoBody::Multipart, limits_, upload);
  r.begin_part("labels");
  r.append("a dog, ", 7);
  r.append("a cat", 5);
  r.begin_part("clips");
  r.append("2", 1);
  r.begin_part("start");
  r.append("1.5", 3);
  r.begin_part("video");
  r.append("0123456789", 10);
  r.begin_part("options");
  const std::string options = R"({"seek": "keyframe", "top": 1})";
  r.append(options.data(), options.size());
  const VideoRequest v = r.finish(true);
  EXPECT_EQ(v.path, upload.path());
  EXPECT_EQ(fs::file_size(v.path), 10u);
  EXPECT_EQ(v.options["labels"], nlohmann::json({"a dog", "a cat"}));
  EXPECT_EQ(v.options["clips"], 2);
  EXPECT_DOUBLE_EQ(v.options["start"].get<double>(), 1.5);
  EXPECT_EQ(v.options["seek"], "keyframe");
  EXPECT_EQ(v.options["top"], 1);
}

TEST_F(VideoRequestTest, HostileMultipartBodiesAreRefused) {
  {  // two videos
    TempFile upload(dir_);
    VideoRequestReader r(VideoBody::Multipart, limits_, upload);
    r.begin_part("video");
    EXPECT_EQ(status_of([&] { r.begin_part("video"); }), 422);
  }
  {  // a flood of parts
    TempFile upload(dir_);
    VideoRequestReader r(VideoBody::Multipart, limits_, upload);
    EXPECT_EQ(status_of([&] {
                for (int i = 0; i < 100; ++i) r.begin_part(field_name(i));
              }),
              413);
  }
  {  // text fields over the JSON limit, spread over many fields
    TempFile upload(dir_);
    VideoRequestReader r(VideoBody::Multipart, limits_, upload);
    EXPECT_EQ(status_of([&] {
                for (int i = 0; i < 30; ++i) {
                  r.begin_part(field_name(i));
                  r.append("0123456789", 10);
                }
              }),
              413);
  }
  {  // an upload over its limit
    TempFile upload(dir_);
    VideoRequestReader r(VideoBody::Multipart, limits_, upload);
    r.begin_part("video");
    const std::string chunk(600, 'x');
    r.append(chunk.data(), chunk.size());
    EXPECT_EQ(status_of([&] { r.append(chunk.data(), chunk.size()); }), 413);
  }
  {  // no closing boundary; no video; options that are not an object; a number that is not one
    for (const auto& [fields, complete, status] :
         std::vector<std::tuple<std::vector<std::pair<std::string, std::string>>, bool, int>>{
             {{{"video", "abc"}}, false, 400},
             {{{"labels", "a"}}, true, 422},
             {{{"video", "abc"}, {"options", "[1, 2]"}}, true, 422},
             {{{"video", "abc"}, {"options", "{"}}, true, 400},
             {{{"video", "abc"}, {"top", "3x"}}, true, 422},
             {{{"video", "abc"}, {"frames", "99999999999"}}, true, 422},
             {{{"video", "abc"}, {"normalize", "maybe"}}, true, 422}}) {
      TempFile upload(dir_);
      VideoRequestReader r(VideoBody::Multipart, limits_, upload);
      for (const auto& [name, value] : fields) {
        r.begin_part(name);
        r.append(value.data(), value.size());
      }
      EXPECT_EQ(status_of([&] { r.finish(complete); }), status) << fields.back().first << "=" << fields.back().second;
    }
  }
}

TEST_F(VideoRequestTest, JsonNamesAFileInsideTheRoots) {
  std::ofstream(dir_ + "/clip.mp4") << "x";
  TempFile upload(dir_);
  VideoRequestReader ok(VideoBody::Json, limits_, upload);
  const std::string body = R"({"path": ")" + dir_ + R"(/clip.mp4", "clips": 2})";
  ok.append(body.data(), body.size());
  const VideoRequest v = ok.finish(true);
  EXPECT_EQ(v.path, fs::canonical(dir_ + "/clip.mp4").string());
  EXPECT_EQ(v.options["clips"], 2);
  for (const auto& [text, status] : std::vector<std::pair<std::string, int>>{{R"({"path": "/etc/passwd"})", 403},
                                                                             {R"({"labels": ["a"]})", 422},
                                                                             {R"({"path": 3})", 422},
                                                                             {"[1]", 422},
                                                                             {"{\"path\": \"\xff\"}", 400}}) {
    VideoRequestReader r(VideoBody::Json, limits_, upload);
    r.append(text.data(), text.size());
    EXPECT_EQ(status_of([&] { r.finish(true); }), status) << text;
  }
  VideoRequestReader large(VideoBody::Json, limits_, upload);
  const std::string big(300, ' ');
  EXPECT_EQ(status_of([&] { large.append(big.data(), big.size()); }), 413);
}

TEST_F(VideoRequestTest, RawBodyTakesItsOptionsFromTheQuery) {
  TempFile upload(dir_);
  VideoRequestReader r(VideoBody::Raw, limits_, upload);
  r.append("video bytes", 11);
  const VideoRequest v = r.finish(true, {{"labels", "a,b"}, {"top", "1"}, {"indices", "0, 4,8"}});
  EXPECT_EQ(v.options["labels"], nlohmann::json({"a", "b"}));
  EXPECT_EQ(v.options["top"], 1);
  EXPECT_EQ(v.options["indices"], nlohmann::json({0, 4, 8}));
  TempFile empty(dir_);
  VideoRequestReader none(VideoBody::Raw, limits_, empty);
  EXPECT_EQ(status_of([&] { none.finish(true); }), 422);
}

TEST(VideoBodyOf, ContentTypes) {
  EXPECT_EQ(video_body_of("multipart/form-data; boundary=x"), VideoBody::Multipart);
  EXPECT_EQ(video_body_of("Application/JSON; charset=utf-8"), VideoBody::Json);
  EXPECT_EQ(video_body_of("video/mp4"), VideoBody::Raw);
}

TEST(SamplingOf, FieldsBecomeTheLibrarysOptions) {
  const nlohmann::json o = {{"frames", 8}, {"clips", 3},           {"start", 1},
                            {"end", 2.5},  {"sampling", "random"}, {"seed", 7}};
  const SamplingOptions s = sampling_of(o, 4, 1024);
  EXPECT_EQ(s.num_frames, 8);
  EXPECT_EQ(s.clips, 3);
  EXPECT_DOUBLE_EQ(s.start, 1.0);
  EXPECT_DOUBLE_EQ(s.end, 2.5);
  EXPECT_EQ(s.method, SamplingMethod::Random);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(sampling_of(nlohmann::json::object(), 4, 1024).num_frames, 4);
  EXPECT_THROW(sampling_of({{"clips", 300}}, 4, 1024), HttpError);   // 1200 frames to decode
  EXPECT_THROW(sampling_of({{"frames", "8"}}, 4, 1024), HttpError);  // JSON is typed
  EXPECT_EQ(seek_of({{"seek", "keyframe"}}), SeekMode::Keyframe);
  EXPECT_THROW(seek_of({{"seek", "fast"}}), InvalidArgument);
}

}  // namespace
}  // namespace xclip::server
