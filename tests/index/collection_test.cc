// A collection (an index in shards) against a single index of the same files: the same
// hits and scores; a file moved across shards adopted without decoding; shard-by-shard
// updates (as Dask workers run them) storing what one update stores, bit for bit; shards
// that disagree, damaged manifests and second writers refused with clear errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "index/collection_manifest.h"
#include "index/sqlite.h"
#include "index/writer_lock.h"
#include "support/error_of.h"
#include "support/index_fixtures.h"
#include "support/test_paths.h"
#include "xclip/xclip.h"

namespace xclip::test {
namespace {

namespace fs = std::filesystem;

std::string fresh(const std::string& name) {
  const std::string dir = scratch_dir() + "/collection_" + name;
  fs::remove_all(dir);
  return dir;
}

IndexOpenOptions options(int shards) {
  IndexOpenOptions o;
  o.model = model_dir("tiny");
  o.settings.window_seconds = 2.0;
  o.shards = shards;
  return o;
}

// Every stored window of a plain index or a collection: (path, start) -> the raw bytes of its
// embedding, prompt keys/values and thumbnail, read straight from the databases.
std::map<std::pair<std::string, double>, std::string> stored(const std::string& dir) {
  std::vector<std::string> databases;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().filename() == "index.sqlite") databases.push_back(entry.path().string());
  std::map<std::pair<std::string, double>, std::string> out;
  for (const std::string& path : databases) {
    index::Database db(path, false);
    index::Statement s = db.prepare(
        "SELECT v.path, w.start_s, w.embedding, f.keys_values, f.thumbnail, w.frame_indices FROM windows w "
        "JOIN videos v ON v.id = w.video_id JOIN window_features f ON f.window_id = w.id");
    while (s.step()) {
      std::string bytes;
      for (int c = 2; c <= 4; ++c) {
        const std::vector<std::uint8_t> b = s.bytes(c);
        bytes.append(b.begin(), b.end());
      }
      bytes += s.text(5);
      const bool fresh_key = out.emplace(std::make_pair(s.text(0), s.real(1)), bytes).second;
      EXPECT_TRUE(fresh_key) << s.text(0) << " at " << s.real(1) << " is stored twice";
    }
  }
  return out;
}

void expect_same_hits(const std::vector<SearchHit>& a, const std::vector<SearchHit>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].path, b[i].path) << what << " hit " << i;
    EXPECT_DOUBLE_EQ(a[i].start, b[i].start) << what << " hit " << i;
    EXPECT_DOUBLE_EQ(a[i].end, b[i].end) << what << " hit " << i;
    EXPECT_NEAR(a[i].score, b[i].score, 1e-6) << what << " hit " << i;
    EXPECT_EQ(a[i].reranked, b[i].reranked) << what << " hit " << i;
  }
}

class Collection : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    videos_ = make_collection("collection", 6, 6);  // 18 windows of 2 s
    single_ = fresh("single");
    sharded_ = fresh("sharded");
    VideoIndex::open(single_, options(0)).update({videos_});
    VideoIndex::open(sharded_, options(3)).update({videos_});
  }
  static std::string videos_, single_, sharded_;
};
std::string Collection::videos_, Collection::single_, Collection::sharded_;

TEST_F(Collection, ManifestAndShardsAreWritten) {
  const index::CollectionManifest m = index::read_manifest(sharded_);
  ASSERT_EQ(m.shards.size(), 3u);
  IndexOpenOptions o;
  o.create = false;
  const IndexInfo info = VideoIndex::open(sharded_, o).info();
  EXPECT_EQ(info.shards, 3);
  EXPECT_EQ(info.windows, 18);
  EXPECT_EQ(info.videos, 6);
  EXPECT_EQ(info.model_fingerprint, m.model_fingerprint);
  // Files spread over the shards by their path's hash: with 6 files, no shard holds all.
  for (const std::string& dir : info.shard_dirs) {
    IndexOpenOptions plain;
    plain.create = false;
    EXPECT_LT(VideoIndex::open(dir, plain).info().videos, 6) << dir;
  }
}

TEST_F(Collection, SearchesLikeOneIndex) {
  IndexOpenOptions o;
  o.create = false;
  VideoIndex one = VideoIndex::open(single_, o), many = VideoIndex::open(sharded_, o);
  for (const char* query : {"a test pattern", "colour bars", "a fractal"}) {
    for (int rerank : {100, 5, 0}) {
      SearchOptions s;
      s.top = 10;
      s.rerank = rerank;
      expect_same_hits(one.search(query, s), many.search(query, s),
                       std::string(query) + " rerank " + std::to_string(rerank));
    }
  }
  SearchOptions like;
  like.top = 5;
  expect_same_hits(one.search_like(videos_ + "/clip2.mp4", like), many.search_like(videos_ + "/clip2.mp4", like),
                   "like clip2");
  EXPECT_EQ(one.windows().size(), many.windows().size());
  EXPECT_EQ(stored(single_), stored(sharded_));
}

TEST_F(Collection, WindowIdsReachTheirShard) {
  IndexOpenOptions o;
  o.create = false;
  VideoIndex many = VideoIndex::open(sharded_, o);
  std::set<std::int64_t> ids;
  for (const IndexedWindow& w : many.windows()) {
    ids.insert(w.id);
    const auto again = many.window(w.id);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->path, w.path);
    EXPECT_EQ(again->start, w.start);
    EXPECT_FALSE(many.thumbnail(w.id).empty());
  }
  EXPECT_EQ(ids.size(), 18u);
  EXPECT_FALSE(many.window(-1).has_value());
  EXPECT_FALSE(many.window(1000000).has_value());
}

// A file renamed so that its path hashes to another shard: that shard copies its windows
// from the old one (nothing decoded), and the old copy goes.
TEST(CollectionUpdate, FileMovedAcrossShardsIsAdoptedNotDecoded) {
  const std::string videos = scratch_dir() + "/videos_collection_move";
  fs::remove_all(videos);
  fs::create_directories(videos);
  const std::string source = make_collection("collection", 6, 6);
  for (int i = 0; i < 3; ++i)
    fs::copy_file(source + "/clip" + std::to_string(i) + ".mp4", videos + "/clip" + std::to_string(i) + ".mp4");
  const std::string dir = fresh("move");
  VideoIndex index = VideoIndex::open(dir, options(3));
  index.update({videos});
  const auto before = stored(dir);

  const std::string old_path = fs::absolute(videos + "/clip0.mp4").lexically_normal().string();
  std::string new_path;
  for (int k = 0; new_path.empty(); ++k) {
    const std::string candidate = fs::absolute(videos + "/renamed" + std::to_string(k) + ".mp4").string();
    if (index::shard_of(candidate, 3) != index::shard_of(old_path, 3)) new_path = candidate;
  }
  fs::rename(old_path, new_path);
  const IndexUpdateReport r = index.update({videos});
  EXPECT_EQ(r.moved, 1u);
  EXPECT_EQ(r.decoded, 0u);
  EXPECT_EQ(r.removed, 0u);
  EXPECT_EQ(r.unchanged, 2u);
  auto after = stored(dir);
  EXPECT_EQ(after.size(), before.size());
  for (const auto& [key, bytes] : before) {
    const std::string path = key.first == old_path ? new_path : key.first;
    ASSERT_TRUE(after.count({path, key.second})) << path << " at " << key.second << " is missing";
    EXPECT_EQ(after.at({path, key.second}), bytes) << path << " changed";
  }
  SearchOptions s;
  s.top = 20;
  for (const SearchHit& h : index.search("a test pattern", s)) EXPECT_NE(h.path, old_path);
}

// What a Dask build does: each shard updated by itself, vanished files left for a second
// pass; the result is what one update of the whole collection stores.
TEST(CollectionUpdate, ShardByShardEqualsOneUpdate) {
  const std::string videos = make_collection("collection", 6, 6);
  const std::string whole = fresh("whole"), by_shard = fresh("by_shard");
  VideoIndex::open(whole, options(3)).update({videos});
  VideoIndex index = VideoIndex::open(by_shard, options(3));
  std::size_t added = 0;
  for (int phase = 0; phase < 2; ++phase)
    for (int s = 0; s < 3; ++s) {
      IndexUpdateOptions u;
      u.shard = s;
      u.remove_vanished = phase == 1;
      added += index.update({videos}, {}, u).added;
    }
  EXPECT_EQ(added, 6u);
  EXPECT_EQ(stored(whole), stored(by_shard));
}

TEST(CollectionUpdate, SecondWriterOfAShardIsRefused) {
  const std::string videos = make_collection("collection", 6, 6);
  const std::string dir = fresh("locked");
  VideoIndex index = VideoIndex::open(dir, options(2));
  index::WriterLock held(dir + "/shard-001");
  try {
    index.update({videos});
    FAIL() << "an update ran while another writer held shard-001";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("shard-001"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("another process is updating"), std::string::npos) << e.what();
  }
  IndexUpdateOptions only_first;
  only_first.shard = 0;
  EXPECT_NO_THROW(index.update({videos}, {}, only_first));  // the other shard is free
}

class CollectionErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh("errors");
    VideoIndex::open(dir_, options(2));
  }
  std::string open_error() {
    return error_of([&] {
      IndexOpenOptions o;
      o.create = false;
      VideoIndex::open(dir_, o);
    });
  }
  void write_manifest(const std::string& text) { std::ofstream(dir_ + "/collection.json") << text; }
  std::string dir_;
};

TEST_F(CollectionErrors, ShardBuiltWithOtherSettingsIsRefusedNamingBoth) {
  {
    index::Database db(dir_ + "/shard-001/index.sqlite", false);
    db.exec("UPDATE meta SET value = '3.000000' WHERE key = 'window_seconds'");
  }
  const std::string e = open_error();
  EXPECT_NE(e.find("shard-001"), std::string::npos) << e;
  EXPECT_NE(e.find("collection.json"), std::string::npos) << e;
  EXPECT_NE(e.find("window seconds: the collection says 2, the shard 3"), std::string::npos) << e;
}

TEST_F(CollectionErrors, ShardOfAnotherModelIsRefused) {
  {
    index::Database db(dir_ + "/shard-000/index.sqlite", false);
    db.exec("UPDATE meta SET value = 'f00d' WHERE key = 'model_fingerprint'");
  }
  const std::string e = open_error();
  EXPECT_NE(e.find("model fingerprint"), std::string::npos) << e;
  EXPECT_NE(e.find("f00d"), std::string::npos) << e;
}

TEST_F(CollectionErrors, DamagedManifests) {
  const std::string original = [&] {
    std::ifstream in(dir_ + "/collection.json");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  write_manifest("{ not json");
  EXPECT_NE(open_error().find("collection.json"), std::string::npos);
  write_manifest("[1, 2]");
  EXPECT_NE(open_error().find("collection.json"), std::string::npos);
  std::string escaping = original;
  escaping.replace(escaping.find("\"shard-001\""), 11, "\"../elsewhere\"");
  write_manifest(escaping);
  EXPECT_NE(open_error().find("not a plain folder name"), std::string::npos) << open_error();
  std::string missing = original;
  missing.replace(missing.find("\"shard-001\""), 11, "\"shard-009\"");
  write_manifest(missing);
  EXPECT_NE(open_error().find("shard-009, which is missing"), std::string::npos) << open_error();
  std::string newer = original;
  newer.replace(newer.find("\"format_version\": 1"), 19, "\"format_version\": 99");
  write_manifest(newer);
  EXPECT_NE(open_error().find("collection format 99"), std::string::npos) << open_error();
}

TEST_F(CollectionErrors, ShardCountIsFixed) {
  const std::string e = error_of([&] { VideoIndex::open(dir_, options(4)); });
  EXPECT_NE(e.find("a collection of 2 shards, not 4"), std::string::npos) << e;
  const std::string plain = fresh("plain");
  VideoIndex::open(plain, options(0));
  const std::string p = error_of([&] { VideoIndex::open(plain, options(3)); });
  EXPECT_NE(p.find("is a plain index"), std::string::npos) << p;
  IndexUpdateOptions u;
  u.shard = 7;
  const std::string s = error_of([&] { VideoIndex::open(dir_, options(0)).update({}, {}, u); });
  EXPECT_NE(s.find("no shard 7"), std::string::npos) << s;
}

}  // namespace
}  // namespace xclip::test
