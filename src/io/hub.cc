// Hugging Face hub resolution with libcurl and the huggingface_hub cache layout:
//   <cache>/models--<org>--<name>/blobs/<etag>           file contents
//   <cache>/models--<org>--<name>/refs/<revision>        commit id the revision points to
//   <cache>/models--<org>--<name>/snapshots/<commit>/<f> symlink to ../../blobs/<etag>
#include "xclip/hub.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/check.h"
#include "io/json.h"
#include "xclip/features.h"
#include "xclip/version.h"

#if XCLIP_WITH_HUB
#include <curl/curl.h>
#endif

namespace xclip {

namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool env_true(const char* name) {
  std::string v = env(name);
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "1" || v == "true" || v == "yes" || v == "on";
}

std::string hf_home() {
  if (!env("HF_HOME").empty()) return env("HF_HOME");
  const std::string xdg = env("XDG_CACHE_HOME");
  return (xdg.empty() ? env("HOME") + "/.cache" : xdg) + "/huggingface";
}

bool is_commit(const std::string& s) {
  if (s.size() != 40) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool valid_repo_part(const std::string& s) {
  if (s.empty() || s.size() > 96 || s == "." || s == ".." || s.find("--") != std::string::npos) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

struct RepoId {
  std::string org, name, revision;
  std::string id() const { return org + "/" + name; }
};

RepoId parse_repo_id(const std::string& text, const std::string& revision_override) {
  RepoId r;
  std::string id = text;
  if (const auto at = id.find('@'); at != std::string::npos) {
    r.revision = id.substr(at + 1);
    id = id.substr(0, at);
  }
  const auto slash = id.find('/');
  XCLIP_CHECK(slash != std::string::npos && id.find('/', slash + 1) == std::string::npos, InvalidArgument)
      << "'" << text << "' is neither a model folder nor a hub id of the form org/name[@revision]";
  r.org = id.substr(0, slash);
  r.name = id.substr(slash + 1);
  XCLIP_CHECK(valid_repo_part(r.org) && valid_repo_part(r.name), InvalidArgument)
      << "'" << text << "' is not a valid hub id (letters, digits, '-', '_' and '.' only)";
  if (!revision_override.empty()) r.revision = revision_override;
  if (r.revision.empty()) r.revision = "main";
  for (char c : r.revision)
    XCLIP_CHECK(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/', InvalidArgument)
        << "revision '" << r.revision << "' contains '" << c << "'";
  XCLIP_CHECK(r.revision.find("..") == std::string::npos, InvalidArgument) << "revision '" << r.revision << "' is not valid";
  return r;
}

std::string read_first_line(const fs::path& p) {
  std::ifstream in(p);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  return line;
}

// Files a model folder can hold: weights first, in the order they are preferred.
const std::vector<std::string> kWeightIndexes = {"model.safetensors.index.json", "pytorch_model.bin.index.json"};
const std::vector<std::string> kWeightFiles = {"model.safetensors", "pytorch_model.bin"};
const std::vector<std::string> kProcessorFiles = {"preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
                                                  "special_tokens_map.json", "vocab.json", "merges.txt"};

// Our own downloads leave a marker; a snapshot huggingface_hub downloaded counts when it has
// the config, weights, the tokenizer and the image processor configuration.
bool snapshot_complete(const fs::path& dir) {
  if (!fs::exists(dir / "config.json")) return false;
  if (fs::exists(dir / ".xclip_complete")) return true;
  bool weights = false;
  for (const auto& names : {kWeightFiles, kWeightIndexes})
    for (const std::string& f : names) weights |= fs::exists(dir / f);
  const bool tokenizer = fs::exists(dir / "tokenizer.json") || (fs::exists(dir / "vocab.json") && fs::exists(dir / "merges.txt"));
  return weights && tokenizer && fs::exists(dir / "preprocessor_config.json");
}

// ---------------------------------------------------------------------------------------
// Downloads (libcurl): a build without XCLIP_WITH_HUB reads the cache only.
#if XCLIP_WITH_HUB

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, first response of a redirect chain
};

class Http {
 public:
  Http(std::string token, bool progress) : token_(std::move(token)), progress_(progress && isatty(STDERR_FILENO)) {
    static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
    XCLIP_CHECK(init == CURLE_OK, IoError) << "libcurl initialisation failed";
  }

  // HEAD without following redirects: the hub answers with the commit and the etag itself.
  HttpResponse head(const std::string& url) {
    HttpResponse r;
    perform(url, /*head=*/true, nullptr, 0, r, "");
    return r;
  }

  // GET into `file` (appending from `offset` with a Range request when offset > 0).
  HttpResponse download(const std::string& url, const fs::path& file, std::uint64_t offset, const std::string& label) {
    HttpResponse r;
    std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(file.c_str(), offset > 0 ? "ab" : "wb"), std::fclose);
    XCLIP_CHECK(out != nullptr, IoError) << file.string() << ": cannot write";
    perform(url, /*head=*/false, out.get(), offset, r, label);
    return r;
  }

 private:
  struct Transfer {
    HttpResponse* response;
    bool first_done = false;
    FILE* out = nullptr;
    std::uint64_t offset = 0;
    std::string label;
    bool progress = false;
    bool ok_status = false;
  };

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::string line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
      if (!t->response->headers.empty() || t->response->status != 0) t->first_done = true;
      if (!t->first_done) {
        const auto sp = line.find(' ');
        if (sp != std::string::npos) t->response->status = std::strtol(line.c_str() + sp + 1, nullptr, 10);
      }
      return size * n;
    }
    const auto colon = line.find(':');
    if (colon != std::string::npos && !t->first_done) {
      std::string key = line.substr(0, colon), value = line.substr(colon + 1);
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.erase(value.begin());
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
      t->response->headers.emplace(key, value);
    }
    return size * n;
  }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    if (t->out == nullptr) return size * n;
    return std::fwrite(data, 1, size * n, t->out);
  }

  static int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
    auto* t = static_cast<Transfer*>(user);
    if (t->progress && total > 0) {
      const double done = static_cast<double>(t->offset + now), all = static_cast<double>(t->offset + total);
      std::fprintf(stderr, "\r%s: %5.1f%% of %.1f MB", t->label.c_str(), 100.0 * done / all, all / 1e6);
      if (now == total) std::fprintf(stderr, "\n");
    }
    return 0;
  }

  void perform(const std::string& url, bool head, FILE* out, std::uint64_t offset, HttpResponse& r, const std::string& label) {
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    XCLIP_CHECK(curl != nullptr, IoError) << "libcurl: cannot create a handle";
    Transfer t{&r, false, out, offset, label, progress_ && !head};
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "User-Agent: xclip.cpp/" XCLIP_VERSION_STRING);
    if (!token_.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token_).c_str());
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> owned(headers, curl_slist_free_all);
    CURL* c = curl.get();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_NOBODY, head ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, head ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Http::on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Http::on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, t.progress ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &Http::on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);  // abort a transfer stalled for a minute
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 0L);
    if (offset > 0) curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(offset));
    const CURLcode code = curl_easy_perform(c);
    long final_status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &final_status);
    if (!head) r.status = final_status;
    XCLIP_CHECK(code == CURLE_OK, IoError)
        << url << ": " << curl_easy_strerror(code) << (offset > 0 ? " (resuming)" : "");
  }

  std::string token_;
  bool progress_;
};

std::string strip_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

void check_status(long status, const std::string& url, const RepoId& repo) {
  XCLIP_CHECK(status != 401 && status != 403, IoError)
      << url << ": HTTP " << status << ": " << repo.id() << " needs authentication or access; set HF_TOKEN to a token "
      << "that can read it";
  XCLIP_CHECK(status < 400, IoError) << url << ": HTTP " << status;
}

class Downloader {
 public:
  Downloader(const RepoId& repo, const HubOptions& o, fs::path repo_dir, std::string endpoint, std::string token)
      : repo_(repo), dir_(std::move(repo_dir)), endpoint_(std::move(endpoint)), http_(std::move(token), o.progress) {}

  // Downloads `file` into the snapshot of the revision; false if the hub has no such file.
  bool fetch(const std::string& file) {
    const std::string url = endpoint_ + "/" + repo_.id() + "/resolve/" + repo_.revision + "/" + file;
    HttpResponse meta = http_.head(url);
    if (meta.status == 404) return false;
    check_status(meta.status, url, repo_);
    std::string commit = meta.headers.count("x-repo-commit") ? meta.headers["x-repo-commit"] : "";
    std::string etag = meta.headers.count("x-linked-etag") ? meta.headers["x-linked-etag"]
                                                            : (meta.headers.count("etag") ? meta.headers["etag"] : "");
    etag = strip_etag(etag);
    XCLIP_CHECK(is_commit(commit), IoError) << url << ": the server did not report the commit (X-Repo-Commit)";
    XCLIP_CHECK(!etag.empty() && etag.find('/') == std::string::npos && etag.find("..") == std::string::npos, IoError)
        << url << ": the server did not report a usable ETag";
    if (commit_.empty()) commit_ = commit;
    XCLIP_CHECK(commit == commit_, IoError) << url << ": the repository changed during the download (commit " << commit
                                            << " after " << commit_ << "); run again";
    const fs::path blob = dir_ / "blobs" / etag;
    fs::create_directories(blob.parent_path());
    if (!fs::exists(blob)) {
      const fs::path partial = blob.string() + ".incomplete";
      std::uint64_t have = fs::exists(partial) ? fs::file_size(partial) : 0;
      HttpResponse got = http_.download(url, partial, have, repo_.id() + "/" + file);
      if (have > 0 && got.status == 200) {  // the server ignored the Range: start over
        got = http_.download(url, partial, 0, repo_.id() + "/" + file);
      }
      check_status(got.status, url, repo_);
      // The size the hub announced (X-Linked-Size for LFS files, else Content-Length).
      const std::string size = meta.headers.count("x-linked-size") ? meta.headers["x-linked-size"]
                               : meta.headers.count("content-length") ? meta.headers["content-length"] : "";
      if (!size.empty()) {
        const std::uint64_t expected = std::strtoull(size.c_str(), nullptr, 10);
        XCLIP_CHECK(fs::file_size(partial) == expected, IoError)
            << url << ": got " << fs::file_size(partial) << " bytes, expected " << expected << "; run again to resume";
      }
      fs::rename(partial, blob);
    }
    link(file, etag);
    return true;
  }

  void finish() {
    fs::create_directories(dir_ / "refs" / fs::path(repo_.revision).parent_path());
    if (!is_commit(repo_.revision)) std::ofstream(dir_ / "refs" / repo_.revision) << commit_;
    std::ofstream(snapshot() / ".xclip_complete") << commit_ << "\n";
  }

  fs::path snapshot() const { return dir_ / "snapshots" / commit_; }

 private:
  void link(const std::string& file, const std::string& etag) {
    const fs::path target = snapshot() / file;
    fs::create_directories(target.parent_path());
    std::string relative = "../../blobs/" + etag;
    for (char c : file)
      if (c == '/') relative = "../" + relative;
    std::error_code ec;
    fs::remove(target, ec);
    fs::create_symlink(relative, target, ec);
    if (ec) fs::copy_file(dir_ / "blobs" / etag, target, fs::copy_options::overwrite_existing);
  }

  RepoId repo_;
  fs::path dir_;
  std::string endpoint_;
  Http http_;
  std::string commit_;
};

// Shard file names of a downloaded *.index.json (plain names only: no paths out of the folder).
std::vector<std::string> shards_of(const fs::path& index) {
  const nlohmann::json j = io::read_json_object(index.string());
  XCLIP_CHECK(j.contains("weight_map") && j["weight_map"].is_object(), FormatError)
      << index.string() << ": no weight_map";
  std::vector<std::string> shards;
  for (const auto& [name, file] : j["weight_map"].items()) {
    XCLIP_CHECK(file.is_string(), FormatError) << index.string() << ": weight_map['" << name << "'] is not a file name";
    const std::string f = file.get<std::string>();
    XCLIP_CHECK(!f.empty() && f.find('/') == std::string::npos && f != "..", FormatError)
        << index.string() << ": shard '" << f << "' is not a plain file name";
    if (std::find(shards.begin(), shards.end(), f) == shards.end()) shards.push_back(f);
  }
  return shards;
}

#endif  // XCLIP_WITH_HUB

}  // namespace

std::string resolve_model(const std::string& id_or_path, const HubOptions& options) {
  std::error_code ec;
  if (fs::is_directory(id_or_path, ec)) return id_or_path;
  XCLIP_CHECK(!fs::exists(id_or_path, ec), IoError) << id_or_path << ": exists but is not a model folder";
  const std::string before_revision = id_or_path.substr(0, id_or_path.find('@'));
  const bool looks_like_path = id_or_path.rfind("/", 0) == 0 || id_or_path.rfind("./", 0) == 0 ||
                               id_or_path.rfind("../", 0) == 0 ||
                               std::count(before_revision.begin(), before_revision.end(), '/') > 1;
  XCLIP_CHECK(!looks_like_path, IoError) << id_or_path << ": model folder not found";
  const RepoId repo = parse_repo_id(id_or_path, options.revision);

  const fs::path cache = !options.cache_dir.empty() ? fs::path(options.cache_dir)
                         : !env("HF_HUB_CACHE").empty() ? fs::path(env("HF_HUB_CACHE"))
                                                        : fs::path(hf_home()) / "hub";
  const fs::path repo_dir = cache / ("models--" + repo.org + "--" + repo.name);
  const bool offline = options.offline.value_or(env_true("HF_HUB_OFFLINE"));

  // A cached snapshot of the revision is used without any request.
  const std::string commit = is_commit(repo.revision) ? repo.revision : read_first_line(repo_dir / "refs" / repo.revision);
  if (!commit.empty() && fs::exists(repo_dir / "snapshots" / commit / "config.json") &&
      (snapshot_complete(repo_dir / "snapshots" / commit) || offline))
    return (repo_dir / "snapshots" / commit).string();
  XCLIP_CHECK(!offline, IoError) << repo.id() << "@" << repo.revision << " is not in the Hugging Face cache (" << cache.string()
                                 << ") and HF_HUB_OFFLINE is set; download it where there is network, or point --model at "
                                 << "a local folder with config.json and model.safetensors";

#if !XCLIP_WITH_HUB
  throw IoError(repo.id() + "@" + repo.revision + " is not in the Hugging Face cache (" + cache.string() +
                ") and this build of xclip has no downloads (configured with XCLIP_WITH_HUB=OFF); download it with "
                "huggingface_hub, or point --model at a local folder with config.json and model.safetensors");
#else
  std::string endpoint = !options.endpoint.empty() ? options.endpoint : env("HF_ENDPOINT");
  if (endpoint.empty()) endpoint = "https://huggingface.co";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  std::string token = !options.token.empty() ? options.token : env("HF_TOKEN");
  if (token.empty()) token = read_first_line(fs::path(hf_home()) / "token");

  Downloader d(repo, options, repo_dir, endpoint, token);
  XCLIP_CHECK(d.fetch("config.json"), IoError) << endpoint << "/" << repo.id() << ": no config.json at revision "
                                               << repo.revision << " (is this an X-CLIP model repository?)";
  bool weights = false;
  for (std::size_t i = 0; i < kWeightFiles.size() && !weights; ++i) {
    if (d.fetch(kWeightIndexes[i])) {
      for (const std::string& shard : shards_of(d.snapshot() / kWeightIndexes[i]))
        XCLIP_CHECK(d.fetch(shard), IoError) << repo.id() << ": shard " << shard << " listed in " << kWeightIndexes[i] << " is missing";
      weights = true;
    } else {
      weights = d.fetch(kWeightFiles[i]);
    }
  }
  XCLIP_CHECK(weights, IoError) << repo.id() << "@" << repo.revision << ": no model.safetensors or pytorch_model.bin";
  for (const std::string& f : kProcessorFiles) d.fetch(f);
  d.finish();
  return d.snapshot().string();
#endif
}

std::string snapshot_revision(const std::string& folder) {
  const fs::path p = fs::path(folder).lexically_normal();
  const fs::path dir = p.filename().empty() ? p.parent_path() : p;
  if (dir.parent_path().filename() == "snapshots") return dir.filename().string();
  return "local";
}

}  // namespace xclip
