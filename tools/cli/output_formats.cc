#include "output_formats.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "args.h"
#include "xclip/error.h"
#include "xclip/safetensors.h"

namespace xclip::cli {

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw IoError(path + ": read failed");
  return text.str();
}

std::string extension_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(dot);
}

void write_npy(const std::string& path, const Tensor& t) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(t.dim(0)) + ", " +
                       std::to_string(t.dim(1)) + "), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw IoError(path + ": cannot write");
  out.write("\x93NUMPY\x01\x00", 8);
  const std::uint16_t len = static_cast<std::uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xff));
  out.put(static_cast<char>(len >> 8));
  out << header;
  out.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  if (!out) throw IoError(path + ": write failed");
}

void write_jsonl(const std::string& path, const Tensor& embeddings, const std::vector<std::string>& names,
                 const std::string& field) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw IoError(path + ": cannot write");
  const std::int64_t d = embeddings.dim(1);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const float* row = embeddings.data<float>() + static_cast<std::int64_t>(i) * d;
    out << nlohmann::ordered_json{{field, names[i]}, {"embedding", std::vector<float>(row, row + d)}}.dump(
               -1, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
  }
  if (!out) throw IoError(path + ": write failed");
}

}  // namespace

std::vector<std::string> read_lines(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

nlohmann::json parse_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": invalid JSON: " + e.what());
  }
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) {
    const auto b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

bool is_embedding_file(const std::string& path) {
  const std::string ext = extension_of(path);
  return ext == ".safetensors" || ext == ".npy" || ext == ".jsonl";
}

void write_embeddings(const std::string& path, const Tensor& embeddings, const std::vector<std::string>& names,
                      const std::string& field) {
  const std::string ext = extension_of(path);
  if (ext == ".safetensors") {
    save_safetensors(path, {{field + "_embeds", embeddings}}, {{field + "s", nlohmann::json(names).dump()}});
  } else if (ext == ".npy") {
    write_npy(path, embeddings);
    std::ofstream list(path + ".txt", std::ios::trunc);
    for (const std::string& n : names) list << n << "\n";
    if (!list) throw IoError(path + ".txt: write failed");
  } else if (ext == ".jsonl") {
    write_jsonl(path, embeddings, names, field);
  } else {
    throw UsageError("--output must end in .safetensors, .npy or .jsonl (got '" + path + "')");
  }
}

Tensor stack_rows(const std::vector<std::vector<float>>& rows) {
  const auto n = static_cast<std::int64_t>(rows.size());
  const auto d = rows.empty() ? 0 : static_cast<std::int64_t>(rows[0].size());
  Tensor t = Tensor::empty(DType::F32, {n, d});
  for (std::int64_t i = 0; i < n; ++i) std::copy(rows[i].begin(), rows[i].end(), t.mutable_data<float>() + i * d);
  return t;
}

ProgressLine::ProgressLine(bool quiet) : enabled_(!quiet && isatty(STDERR_FILENO)) {}

void ProgressLine::update(const WorkflowProgress& p) {
  if (!enabled_) return;
  const double rate = p.elapsed_seconds > 0 ? p.done / p.elapsed_seconds : 0.0;
  const double eta = rate > 0 ? (p.total - p.done) / rate : 0.0;
  std::fprintf(stderr, "\r[%zu/%zu] %.2f videos/s, ETA %.0f s   ", p.done, p.total, rate, eta);
  if (p.done == p.total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
  shown_ = p.done < p.total;
}

void ProgressLine::update_index(const IndexProgress& p) {
  if (!enabled_) return;
  const double files_rate = p.elapsed_seconds > 0 ? p.files_done / p.elapsed_seconds : 0.0;
  const double rate = p.elapsed_seconds > 0 ? p.windows_done / p.elapsed_seconds : 0.0;
  const double eta = files_rate > 0 ? (p.files_total - p.files_done) / files_rate : 0.0;
  std::fprintf(stderr, "\r[%zu/%zu files] %lld windows, %.2f windows/s, ETA %.0f s   ", p.files_done, p.files_total,
               static_cast<long long>(p.windows_done), rate, eta);
  if (p.files_done == p.files_total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
  shown_ = p.files_done < p.files_total;
}

void ProgressLine::interrupt() {
  if (enabled_ && shown_) std::fprintf(stderr, "\n");
  shown_ = false;
}

}  // namespace xclip::cli
