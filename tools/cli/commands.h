#pragma once

namespace xclip::cli {

// Each command returns the process exit code; errors propagate as exceptions.
int run_forward(int argc, char** argv);

}  // namespace xclip::cli
