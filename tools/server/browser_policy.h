// What keeps a web page in the user's browser from using a server on this machine: a page
// on another site can send requests to 127.0.0.1 (simple POSTs need no CORS preflight), and
// through DNS rebinding it can even read the answers. So requests must name this server in
// Host, come from its own page (or an allowed origin) when a browser says where they come
// from, and carry a content type no cross-site form can send. Pure functions: tested apart.
#pragma once

#include <string>
#include <vector>

namespace xclip::server {

struct BrowserPolicy {
  std::string bound_host = "127.0.0.1";  // the address the server listens on
  int port = 8080;
  std::vector<std::string> allow_hosts;    // more names Host may carry (--allow-host); "*": any
  std::vector<std::string> allow_origins;  // more origins pages may come from (--allow-origin); "*": any
};

// Throws HttpError 403 when Host names another server than this one. Accepted: the bound
// address, loopback names (localhost, 127.0.0.1, [::1]) when bound to loopback, IP literals
// when bound to every address, and allow_hosts; a port, when given, must be ours. A missing
// Host (HTTP/1.0 tools) is accepted: a rebinding attack always carries one.
void check_host(const BrowserPolicy& policy, const std::string& host_header);

// Throws HttpError 403 when a browser says the request comes from a page of another origin
// than this server (http://<Host>) and the allowed ones. No Origin (curl, scripts) passes.
void check_origin(const BrowserPolicy& policy, const std::string& origin_header, const std::string& host_header);

// Content types a route takes. A cross-site <form> can send text/plain,
// application/x-www-form-urlencoded and multipart/form-data without a preflight; the first
// two are never accepted, the third only with a matching Origin (check_origin).
enum class BodyKind { Json, Video };
// Throws HttpError 415 for a content type the route does not take.
void check_content_type(BodyKind kind, const std::string& content_type);

// The page's Content-Security-Policy: its own scripts, styles and media, no framing.
const char* page_security_policy();

}  // namespace xclip::server
