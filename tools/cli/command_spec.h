// Each command's options are declared once, in a table that drives parsing (which names
// take a value, which are flags, anything else refused) and the --help text, so the two
// cannot drift apart.
#pragma once

#include <string>
#include <vector>

#include "args.h"
#include "xclip/video.h"

namespace xclip::cli {

struct OptionSpec {
  std::string name;   // without the leading "--"
  std::string value;  // what the value looks like ("N", "ID|DIR"); empty for a flag
  std::string help;   // one line, or several separated by '\n'
};
using OptionList = std::vector<OptionSpec>;

struct CommandSpec {
  std::string usage;  // what follows "usage: " (several lines for several forms)
  std::string about;  // the paragraphs under it
  OptionList options;
  std::string footer;  // exit codes, examples
};

OptionList operator+(OptionList a, const OptionList& b);

// The --help text: usage, about, the options aligned in two columns, the footer.
std::string help_text(const CommandSpec& spec);

// The command line after the command's name, parsed by the table (--help is always a flag).
Args parse_args(const CommandSpec& spec, int argc, char** argv);

// Options several commands share, declared once here.
OptionList model_option(const std::string& default_text = "default microsoft/xclip-base-patch32");
OptionList dtype_option();
OptionList threads_option(const std::string& help = "CPU threads (default: all cores)");
OptionList quiet_option(const std::string& help = "no progress line or download progress");
OptionList sampling_options(const std::string& frames_help);  // --frames ... --indices
OptionList seek_option();
OptionList max_pixels_option();     // --max-pixels, default DecodeLimits'
OptionList decode_limit_options();  // --max-pixels, --max-frames (frames decoded at once)
OptionList stream_option();
OptionList label_options(const std::string& labels_help);  // --labels, --labels-file (parse_labels)

}  // namespace xclip::cli
