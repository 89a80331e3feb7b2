// libFuzzer target for the other untrusted inputs: safetensors headers, torch checkpoints,
// config.json and tokenizer input text.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include <cstdlib>

#include "io/safetensors.h"
#include "xclip/error.h"
#include "io/torch_checkpoint.h"
#include "xclip/model.h"
#include "xclip/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/xclip_parsers_fuzz_" + std::to_string(getpid()) + ".bin";
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    xclip::io::SafetensorsFile::open(path);
  } catch (const xclip::Error&) {
  }
  try {
    xclip::io::load_torch_checkpoint(path);
  } catch (const xclip::Error&) {
  }
  try {
    xclip::XCLIPConfig::from_json(text, "fuzz");
  } catch (const xclip::Error&) {
  }
  // The tokenizer of the fixtures (set XCLIP_FUZZ_TOKENIZER to its tokenizer.json).
  static const xclip::Tokenizer* tokenizer = [] {
    const char* p = std::getenv("XCLIP_FUZZ_TOKENIZER");
    return p ? new xclip::Tokenizer(xclip::Tokenizer::from_tokenizer_json(p)) : nullptr;
  }();
  if (tokenizer) {
    xclip::TokenizeOptions o;
    o.truncation = true;
    const auto e = tokenizer->encode(text, o);
    tokenizer->decode(e.input_ids);
  }
  return 0;
}
