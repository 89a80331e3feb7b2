// Model resolution against a local hub stand-in on 127.0.0.1 (tests/support/fake_hub.py)
// serving the synthetic tiny model: fresh download, cache reuse without requests, resumed
// interrupted transfer, 404, 401 without token, offline mode.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/model_fixture.h"
#include "xclip/hub.h"

extern char** environ;

namespace xclip::test {
namespace {

namespace fs = std::filesystem;

class FakeHub {
 public:
  explicit FakeHub(const std::string& tag, std::vector<std::string> extra = {}) {
    root_ = scratch_dir() + "/hub_" + tag;
    fs::remove_all(root_);
    for (const std::string repo : {"acme/xclip-tiny", "private/xclip-tiny"}) {
      fs::create_directories(root_ + "/" + repo);
      for (const auto& e : fs::directory_iterator(tiny_model_dir()))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.')
          fs::copy_file(e.path(), root_ + "/" + repo + "/" + e.path().filename().string());
    }
    port_file_ = root_ + "/port";
    log_ = root_ + "/requests.log";
    std::vector<std::string> args = {"/usr/bin/python3", std::string(XCLIP_TEST_SOURCE_DIR) + "/support/fake_hub.py", root_,
                                     port_file_, log_};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) throw std::runtime_error("cannot start fake hub");
    for (int i = 0; i < 200 && !fs::exists(port_file_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!fs::exists(port_file_)) throw std::runtime_error("fake hub did not start");
    std::ifstream(port_file_) >> port_;
  }
  ~FakeHub() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> requests() const {
    std::vector<std::string> lines;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  std::string root() const { return root_; }

 private:
  std::string root_, port_file_, log_;
  pid_t pid_ = 0;
  int port_ = 0;
};

HubOptions options_for(const FakeHub& hub, const std::string& cache) {
  HubOptions o;
  o.endpoint = hub.endpoint();
  o.cache_dir = scratch_dir() + "/" + cache;
  o.offline = false;
  o.progress = false;
  return o;
}

TEST(HubTest, FreshDownloadThenCacheWithoutRequests) {
  FakeHub hub("fresh");
  const HubOptions o = options_for(hub, "hubcache_fresh");
  fs::remove_all(o.cache_dir);
  const std::string dir = resolve_model("acme/xclip-tiny", o);
  // huggingface_hub's layout: refs/main -> commit, snapshot files are links into blobs/.
  const fs::path repo = fs::path(o.cache_dir) / "models--acme--xclip-tiny";
  std::string commit;
  std::ifstream(repo / "refs" / "main") >> commit;
  EXPECT_EQ(commit.size(), 40u);
  EXPECT_EQ(fs::path(dir), repo / "snapshots" / commit);
  EXPECT_TRUE(fs::is_symlink(fs::path(dir) / "model.safetensors"));
  EXPECT_TRUE(fs::exists(fs::path(dir) / "vocab.json"));
  EXPECT_NO_THROW(Model::load(dir));
  const std::size_t before = hub.requests().size();
  EXPECT_GT(before, 3u);
  EXPECT_EQ(resolve_model("acme/xclip-tiny", o), dir);
  EXPECT_EQ(hub.requests().size(), before) << "a cached model must not cause requests";
  // Offline mode uses the cache too.
  HubOptions offline = o;
  offline.offline = true;
  offline.endpoint = "http://127.0.0.1:1";
  EXPECT_EQ(resolve_model("acme/xclip-tiny", offline), dir);
}

TEST(HubTest, InterruptedTransferIsResumed) {
  FakeHub hub("resume", {"--interrupt", "model.safetensors"});
  const HubOptions o = options_for(hub, "hubcache_resume");
  fs::remove_all(o.cache_dir);
  EXPECT_THROW(resolve_model("acme/xclip-tiny", o), IoError);
  const std::string dir = resolve_model("acme/xclip-tiny", o);
  bool ranged = false;
  for (const std::string& line : hub.requests()) ranged |= line.find("model.safetensors bytes=") != std::string::npos;
  EXPECT_TRUE(ranged) << "the second attempt should ask for the missing bytes only";
  std::ifstream a(fs::path(dir) / "model.safetensors", std::ios::binary), b(tiny_model_dir() + "/model.safetensors", std::ios::binary);
  const std::string x((std::istreambuf_iterator<char>(a)), {}), y((std::istreambuf_iterator<char>(b)), {});
  EXPECT_TRUE(x == y) << "resumed file differs from the original";
}

TEST(HubTest, NotFoundUnauthorizedOffline) {
  FakeHub hub("errors", {"--token", "secret"});
  HubOptions o = options_for(hub, "hubcache_errors");
  fs::remove_all(o.cache_dir);
  try {
    resolve_model("acme/missing-model", o);
    ADD_FAILURE() << "404 should fail";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("no config.json"), std::string::npos) << e.what();
  }
  try {
    resolve_model("private/xclip-tiny", o);
    ADD_FAILURE() << "401 should fail";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("HF_TOKEN"), std::string::npos) << e.what();
  }
  o.token = "secret";
  EXPECT_NO_THROW(resolve_model("private/xclip-tiny", o));
  HubOptions offline = options_for(hub, "hubcache_empty");
  fs::remove_all(offline.cache_dir);
  offline.offline = true;
  try {
    resolve_model("acme/xclip-tiny", offline);
    ADD_FAILURE() << "offline without cache should fail";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("point --model at a local folder"), std::string::npos) << e.what();
  }
}

TEST(HubTest, ModelProcessorAndWorkflowTakeHubIds) {
  FakeHub hub("library_ids");
  const HubOptions o = options_for(hub, "hubcache_library");
  LoadOptions load;
  load.hub = o;
  const auto model = Model::load("acme/xclip-tiny", load);
  EXPECT_EQ(model->path(), resolve_model("acme/xclip-tiny", o));
  const XCLIPProcessor processor = XCLIPProcessor::from_pretrained("acme/xclip-tiny", ResizeBackend::Torchvision, o);
  EXPECT_GT(processor.tokenizer().vocab_size(), 0);
  WorkflowOptions w;
  w.hub = o;
  Workflow workflow("acme/xclip-tiny", w);
  EXPECT_EQ(workflow.embed_texts({"a dog"}).dim(0), 1);
  EXPECT_THROW(Model::load("acme/missing-model", load), IoError);
}

TEST(HubTest, ReusesASnapshotHuggingfaceHubDownloaded) {
  // The layout Python leaves (no marker of ours): used as it is, with no request.
  const fs::path cache = fs::path(scratch_dir()) / "hubcache_python";
  fs::remove_all(cache);
  const std::string commit(40, 'a');
  const fs::path snapshot = cache / "models--acme--xclip-tiny" / "snapshots" / commit;
  fs::create_directories(snapshot);
  fs::create_directories(cache / "models--acme--xclip-tiny" / "refs");
  std::ofstream(cache / "models--acme--xclip-tiny" / "refs" / "main") << commit;
  for (const auto& e : fs::directory_iterator(tiny_model_dir()))
    if (e.is_regular_file() && e.path().filename().string()[0] != '.') fs::copy_file(e.path(), snapshot / e.path().filename());
  HubOptions o;
  o.cache_dir = cache.string();
  o.endpoint = "http://127.0.0.1:1";  // nothing listens there: any request would fail
  o.offline = false;
  EXPECT_EQ(resolve_model("acme/xclip-tiny", o), snapshot.string());
}

TEST(HubTest, LocalFoldersAndBadIds) {
  EXPECT_EQ(resolve_model(tiny_model_dir()), tiny_model_dir());
  EXPECT_THROW(resolve_model("/nonexistent/folder"), IoError);
  HubOptions o;
  o.offline = true;
  EXPECT_THROW(resolve_model("not-an-id", o), InvalidArgument);
  EXPECT_THROW(resolve_model("a/b/c@x", o), IoError);
  EXPECT_THROW(resolve_model("acme/x--y", o), InvalidArgument);
  EXPECT_THROW(resolve_model("acme/model@../../etc", o), InvalidArgument);
}

}  // namespace
}  // namespace xclip::test
