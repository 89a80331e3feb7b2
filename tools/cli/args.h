// Minimal command-line parsing for the xclip subcommands: --flag, --option VALUE and
// positionals, with usage errors reported as UsageError (exit code 2).
#pragma once

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "xclip/options.h"
#include "xclip/video.h"

namespace xclip::cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `flags` take no value, `options` take one.
  Args(int argc, char** argv, int first, const std::set<std::string>& flags, const std::set<std::string>& options);

  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::string required(const std::string& name) const;
  // Every value of an option given several times (get() returns the last).
  std::vector<std::string> all(const std::string& name) const;
  int get_int(const std::string& name, int fallback) const;
  // A number (seconds, thresholds); UsageError naming the option for anything else.
  double get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::set<std::string> flags_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> repeated_;
  std::vector<std::string> positionals_;
};

// --dtype auto|f32|int8|bf16 (default auto: as the model folder stores its weights).
WeightType parse_dtype(const Args& args);
// --max-pixels N (per frame) and --max-frames N (per request): the decode limits, else the
// library's defaults (8K frames).
DecodeLimits parse_decode_limits(const Args& args);
// --labels "a,b,c" or --labels-file FILE (one per line); empty when neither is given, a usage
// error when both are.
std::vector<std::string> parse_labels(const Args& args);

}  // namespace xclip::cli
