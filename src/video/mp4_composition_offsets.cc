#include "video/mp4_composition_offsets.h"

#include <cstdlib>
#include <fstream>

namespace xclip::video {

namespace {

constexpr std::uint32_t fourcc(const char (&name)[5]) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(name[0])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(name[1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(name[2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(name[3]));
}

std::uint32_t big_endian_32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | static_cast<std::uint32_t>(p[3]);
}

// A box's contents: [begin, end) of the file, after its header.
struct Span {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t size() const { return end - begin; }
};

// Walks the box tree of a file. Any box whose size runs past its parent, or a file with an
// absurd number of boxes, marks the whole file unreadable: an answer from half a tree could
// be wrong.
class BoxReader {
 public:
  explicit BoxReader(const std::string& path) : in_(path, std::ios::binary) {
    if (!in_) return;
    in_.seekg(0, std::ios::end);
    const std::streamoff size = in_.tellg();
    if (size > 0) file_ = Span{0, static_cast<std::uint64_t>(size)};
    ok_ = size > 0;
  }

  bool ok() const { return ok_; }
  Span file() const { return file_; }

  bool read(std::uint64_t at, void* out, std::uint64_t bytes) {
    if (!ok_ || at > file_.end || bytes > file_.end - at) return ok_ = false;
    in_.seekg(static_cast<std::streamoff>(at));
    in_.read(static_cast<char*>(out), static_cast<std::streamsize>(bytes));
    return ok_ = static_cast<bool>(in_);
  }

  // The first child of `parent` of type `type`, after `after` (a child's contents) if given.
  std::optional<Span> child(const Span& parent, std::uint32_t type, const Span* after = nullptr) {
    std::uint64_t at = parent.begin;
    if (after != nullptr) at = after->end;
    while (ok_ && at < parent.end) {
      if (++boxes_seen_ > kMaxBoxes) return fail();
      unsigned char header[16];
      if (parent.end - at < 8 || !read(at, header, 8)) return fail();
      std::uint64_t size = big_endian_32(header);
      std::uint64_t header_size = 8;
      if (size == 1) {  // a 64-bit size follows the type
        if (parent.end - at < 16 || !read(at + 8, header + 8, 8)) return fail();
        size = static_cast<std::uint64_t>(big_endian_32(header + 8)) << 32 | big_endian_32(header + 12);
        header_size = 16;
      } else if (size == 0) {  // the box runs to the end of its parent
        size = parent.end - at;
      }
      if (size < header_size || size > parent.end - at) return fail();
      if (big_endian_32(header + 4) == type) return Span{at + header_size, at + size};
      at += size;
    }
    return std::nullopt;
  }

 private:
  static constexpr int kMaxBoxes = 1 << 20;

  std::optional<Span> fail() {
    ok_ = false;
    return std::nullopt;
  }

  std::ifstream in_;
  Span file_;
  bool ok_ = false;
  int boxes_seen_ = 0;
};

// The track ID a 'tkhd' holds (after its version, flags and two creation times, 32- or
// 64-bit by version).
std::optional<std::uint32_t> track_id_of(BoxReader& file, const Span& tkhd) {
  unsigned char version = 0;
  if (tkhd.size() < 1 || !file.read(tkhd.begin, &version, 1)) return std::nullopt;
  const std::uint64_t at = version == 1 ? 20 : 12;
  unsigned char id[4];
  if (tkhd.size() < at + 4 || !file.read(tkhd.begin + at, id, 4)) return std::nullopt;
  return big_endian_32(id);
}

// The 'stbl' of the track named `track_id`, if the file has exactly one such track (two
// would leave it unclear which one FFmpeg read).
std::optional<Span> sample_table_of(BoxReader& file, std::uint32_t track_id) {
  const std::optional<Span> moov = file.child(file.file(), fourcc("moov"));
  if (!moov) return std::nullopt;
  std::optional<Span> found;
  for (std::optional<Span> trak = file.child(*moov, fourcc("trak")); trak;
       trak = file.child(*moov, fourcc("trak"), &*trak)) {
    const std::optional<Span> tkhd = file.child(*trak, fourcc("tkhd"));
    if (!tkhd || track_id_of(file, *tkhd) != track_id) continue;
    if (found) return std::nullopt;
    found = trak;
  }
  if (!found) return std::nullopt;
  const std::optional<Span> mdia = file.child(*found, fourcc("mdia"));
  const std::optional<Span> minf = mdia ? file.child(*mdia, fourcc("minf")) : std::nullopt;
  return minf ? file.child(*minf, fourcc("stbl")) : std::nullopt;
}

}  // namespace

std::optional<std::vector<std::int64_t>> mp4_composition_offsets(const std::string& path, int track_id,
                                                                 std::int64_t sample_count) {
  if (sample_count <= 0 || track_id < 0) return std::nullopt;
  BoxReader file(path);
  if (!file.ok()) return std::nullopt;
  const std::optional<Span> stbl = sample_table_of(file, static_cast<std::uint32_t>(track_id));
  if (!stbl || !file.ok()) return std::nullopt;
  const std::optional<Span> ctts = file.child(*stbl, fourcc("ctts"));
  if (!file.ok()) return std::nullopt;
  const auto samples = static_cast<std::size_t>(sample_count);
  if (!ctts) return std::vector<std::int64_t>(samples, 0);

  unsigned char head[8];
  if (ctts->size() < 8 || !file.read(ctts->begin, head, 8)) return std::nullopt;
  const std::uint64_t entries = big_endian_32(head + 4);
  // Every run FFmpeg keeps covers a sample at least: more runs than samples is not a table
  // this reader vouches for (and bounds what it reads by what FFmpeg already indexed).
  if (entries > samples || entries * 8 > ctts->size() - 8) return std::nullopt;
  std::vector<unsigned char> runs(static_cast<std::size_t>(entries) * 8);
  if (!runs.empty() && !file.read(ctts->begin + 8, runs.data(), runs.size())) return std::nullopt;

  constexpr std::int64_t kLargestOffset = 1 << 28;  // FFmpeg drops tables with larger ones
  std::vector<std::int64_t> offsets;
  offsets.reserve(samples);
  for (std::size_t i = 0; i < runs.size(); i += 8) {
    const auto count = static_cast<std::int32_t>(big_endian_32(&runs[i]));
    const auto offset = static_cast<std::int32_t>(big_endian_32(&runs[i + 4]));
    if (count <= 0) continue;  // FFmpeg ignores these runs
    if (std::llabs(offset) > kLargestOffset) return std::nullopt;
    if (static_cast<std::size_t>(count) > samples - offsets.size()) return std::nullopt;
    offsets.insert(offsets.end(), static_cast<std::size_t>(count), offset);
  }
  if (offsets.size() != samples) return std::nullopt;
  return offsets;
}

}  // namespace xclip::video
