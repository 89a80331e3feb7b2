// libFuzzer target: open + probe + decode of arbitrary bytes as a video file. Any outcome but
// an xclip::Error is a bug (crash, hang, sanitizer report, other exception).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "xclip/error.h"
#include "xclip/video.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/xclip_video_fuzz_" + std::to_string(getpid()) + ".bin";
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  try {
    xclip::VideoReader reader = xclip::VideoReader::open(path);
    const std::int64_t n = reader.info().frame_count;
    if (n > 0 && n < 100000) reader.frames_at(xclip::sampling::uniform(n, 3));
  } catch (const xclip::Error&) {
  }
  return 0;
}
