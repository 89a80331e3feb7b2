#include "browser_policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "http_guard.h"

namespace xclip::server {

namespace {

struct HostPort {
  std::string name;  // lower case, IPv6 without brackets
  std::string port;  // empty when absent
  bool valid = true;
};

HostPort split_host(const std::string& header) {
  HostPort h;
  const std::string s = ascii_lower(header);
  std::size_t name_end;
  if (!s.empty() && s[0] == '[') {  // [v6]:port
    const std::size_t close = s.find(']');
    if (close == std::string::npos) return {"", "", false};
    h.name = s.substr(1, close - 1);
    name_end = close + 1;
  } else {
    name_end = s.find(':');
    h.name = s.substr(0, name_end);
  }
  if (name_end < s.size()) {
    if (s[name_end] != ':') return {"", "", false};
    h.port = s.substr(name_end + 1);
    if (h.port.empty() || !std::all_of(h.port.begin(), h.port.end(), ::isdigit)) return {"", "", false};
  }
  h.valid = !h.name.empty();
  return h;
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

bool is_loopback_name(const std::string& name) {
  if (name == "localhost" || name == "::1") return true;
  return name.rfind("127.", 0) == 0 && is_ip_literal(name);
}

bool listed(const std::vector<std::string>& list, const std::string& value) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& x) { return x == "*" || ascii_lower(x) == value; });
}

}  // namespace

void check_host(const BrowserPolicy& p, const std::string& host_header) {
  if (host_header.empty()) return;
  const HostPort h = split_host(host_header);
  const auto refuse = [&](const std::string& why) {
    throw HttpError(403, "forbidden_host",
                    "Host '" + host_header + "' " + why +
                        ": this server answers to its own address only (start it with --allow-host NAME to add one)");
  };
  if (!h.valid) refuse("is not a host name");
  if (listed(p.allow_hosts, h.name) || listed(p.allow_hosts, ascii_lower(host_header))) return;
  const std::string bound = ascii_lower(p.bound_host);
  const bool every_address = bound == "0.0.0.0" || bound == "::" || bound.empty();
  const bool ours = h.name == bound || (is_loopback_name(bound) && is_loopback_name(h.name)) ||
                    (every_address && (is_ip_literal(h.name) || h.name == "localhost"));
  if (!ours) refuse("is not this server");
  if (!h.port.empty() && h.port != std::to_string(p.port)) refuse("names another port");
}

void check_origin(const BrowserPolicy& p, const std::string& origin, const std::string& host_header) {
  if (origin.empty()) return;
  const std::string o = ascii_lower(origin);
  if (!host_header.empty() && o == "http://" + ascii_lower(host_header)) return;  // our own page
  if (listed(p.allow_origins, o)) return;
  throw HttpError(403, "forbidden_origin",
                  "requests from pages of " + origin +
                      " are refused: only this server's own page may call it (start it with --allow-origin " +
                      "ORIGIN to allow another)");
}

void check_content_type(BodyKind kind, const std::string& content_type) {
  const std::string t = ascii_lower(content_type.substr(0, content_type.find(';')));
  const auto is = [&](const char* prefix) { return t.rfind(prefix, 0) == 0; };
  if (kind == BodyKind::Json) {
    if (t == "application/json") return;
    throw HttpError(415, "unsupported_media_type",
                    "this route takes Content-Type: application/json, not '" + content_type + "'");
  }
  if (t == "application/json" || t == "multipart/form-data" || t == "application/octet-stream" || is("video/") ||
      is("image/"))
    return;
  throw HttpError(415, "unsupported_media_type",
                  "a video request is multipart/form-data, application/json, video/* or application/octet-stream, "
                  "not '" +
                      content_type + "'");
}

const char* page_security_policy() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self' blob:; "
         "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
}

}  // namespace xclip::server
