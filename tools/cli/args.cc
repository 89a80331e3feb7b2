#include "args.h"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "output_formats.h"
#include "xclip/error.h"

namespace xclip::cli {

Args::Args(int argc, char** argv, int first, const std::set<std::string>& flags, const std::set<std::string>& options) {
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      positionals_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    const bool inline_value = name.find('=') != std::string::npos;
    if (inline_value) {
      value = name.substr(name.find('=') + 1);
      name = name.substr(0, name.find('='));
    }
    if (flags.count(name)) {
      if (inline_value) throw UsageError("--" + name + " takes no value");
      flags_.insert(name);
    } else if (options.count(name)) {
      if (!inline_value) {
        if (i + 1 >= argc) throw UsageError("--" + name + " needs a value");
        value = argv[++i];
      }
      values_[name] = value;
      repeated_[name].push_back(value);
    } else {
      throw UsageError("unknown option --" + name);
    }
  }
}

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = repeated_.find(name);
  return it == repeated_.end() ? std::vector<std::string>() : it->second;
}

std::string Args::required(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw UsageError("--" + name + " is required");
  return it->second;
}

int Args::get_int(const std::string& name, int fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const long v = std::strtol(it->second.c_str(), &end, 10);
  if (it->second.empty() || *end != '\0' || v < 0 || v > 1 << 20)
    throw UsageError("--" + name + " expects a non-negative integer, got '" + it->second + "'");
  return static_cast<int>(v);
}

double Args::get_double(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (it->second.empty() || *end != '\0' || !std::isfinite(v))
    throw UsageError("--" + name + " must be a number, got '" + it->second + "'");
  return v;
}

namespace {

std::int64_t positive_count(const Args& args, const std::string& name, std::int64_t fallback) {
  if (!args.has(name)) return fallback;
  const std::string text = args.get(name, "");
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || v <= 0)
    throw UsageError("--" + name + " expects a positive integer, got '" + text + "'");
  return v;
}

}  // namespace

DecodeLimits parse_decode_limits(const Args& args) {
  DecodeLimits limits;
  limits.max_pixels = positive_count(args, "max-pixels", limits.max_pixels);
  limits.max_frames = positive_count(args, "max-frames", limits.max_frames);
  return limits;
}

std::vector<std::string> parse_labels(const Args& args) {
  if (args.has("labels") && args.has("labels-file")) throw UsageError("give --labels or --labels-file, not both");
  if (args.has("labels")) return split_commas(args.get("labels"));
  if (args.has("labels-file")) return read_lines(args.get("labels-file"));
  return {};
}

WeightType parse_dtype(const Args& args) {
  try {
    return parse_weight_type(args.get("dtype", "auto"));
  } catch (const InvalidArgument& e) {
    throw UsageError(std::string("--") + e.what());
  }
}

}  // namespace xclip::cli
