// The browser-safety rules of xclip serve as pure functions: which Host, Origin and content
// types a request may carry (DNS rebinding, cross-site requests, form side doors).
#include "browser_policy.h"

#include <gtest/gtest.h>

#include "http_guard.h"

namespace xclip::server {
namespace {

int status_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const HttpError& e) {
    return e.status();
  }
  return 200;
}

BrowserPolicy loopback(int port = 8080) {
  BrowserPolicy p;
  p.bound_host = "127.0.0.1";
  p.port = port;
  return p;
}

TEST(BrowserPolicy, HostMustNameThisServer) {
  const BrowserPolicy p = loopback();
  for (const char* ok : {"127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080", "127.0.0.1", "localhost", ""})
    EXPECT_EQ(status_of([&] { check_host(p, ok); }), 200) << ok;
  for (const char* bad : {"rebind.attacker.example:8080", "rebind.attacker.example", "127.0.0.1:9999",
                          "localhost.attacker.example:8080", "127.0.0.1:80x", "[::1", "10.0.0.5:8080", ":8080"})
    EXPECT_EQ(status_of([&] { check_host(p, bad); }), 403) << bad;
}

TEST(BrowserPolicy, EveryAddressAcceptsIpLiteralsNotNames) {
  BrowserPolicy p = loopback();
  p.bound_host = "0.0.0.0";
  EXPECT_EQ(status_of([&] { check_host(p, "192.168.1.20:8080"); }), 200);
  EXPECT_EQ(status_of([&] { check_host(p, "[fe80::1]:8080"); }), 200);
  EXPECT_EQ(status_of([&] { check_host(p, "videos.example:8080"); }), 403);
  p.allow_hosts = {"videos.example"};
  EXPECT_EQ(status_of([&] { check_host(p, "videos.example:8080"); }), 200);
  p.allow_hosts = {"*"};
  EXPECT_EQ(status_of([&] { check_host(p, "anything.example"); }), 200);
}

TEST(BrowserPolicy, OriginMustBeThisServersPage) {
  BrowserPolicy p = loopback();
  EXPECT_EQ(status_of([&] { check_origin(p, "", "127.0.0.1:8080"); }), 200);  // curl, scripts
  EXPECT_EQ(status_of([&] { check_origin(p, "http://127.0.0.1:8080", "127.0.0.1:8080"); }), 200);
  EXPECT_EQ(status_of([&] { check_origin(p, "http://localhost:8080", "localhost:8080"); }), 200);
  EXPECT_EQ(status_of([&] { check_origin(p, "https://evil.example", "127.0.0.1:8080"); }), 403);
  EXPECT_EQ(status_of([&] { check_origin(p, "null", "127.0.0.1:8080"); }), 403);  // sandboxed frames, files
  EXPECT_EQ(status_of([&] { check_origin(p, "http://localhost:8080", "127.0.0.1:8080"); }), 403);
  p.allow_origins = {"https://app.example"};
  EXPECT_EQ(status_of([&] { check_origin(p, "https://app.example", "127.0.0.1:8080"); }), 200);
}

TEST(BrowserPolicy, NoFormSideDoors) {
  EXPECT_EQ(status_of([] { check_content_type(BodyKind::Json, "application/json; charset=utf-8"); }), 200);
  for (const char* bad : {"text/plain", "application/x-www-form-urlencoded", "", "multipart/form-data; boundary=x"})
    EXPECT_EQ(status_of([&] { check_content_type(BodyKind::Json, bad); }), 415) << bad;
  for (const char* ok : {"video/mp4", "application/octet-stream", "multipart/form-data; boundary=x", "application/json"})
    EXPECT_EQ(status_of([&] { check_content_type(BodyKind::Video, ok); }), 200) << ok;
  for (const char* bad : {"text/plain", "application/x-www-form-urlencoded", "text/plain;charset=UTF-8"})
    EXPECT_EQ(status_of([&] { check_content_type(BodyKind::Video, bad); }), 415) << bad;
}

TEST(BrowserPolicy, PagePolicyAllowsNoInlineScriptOrFraming) {
  const std::string csp = page_security_policy();
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
}

}  // namespace
}  // namespace xclip::server
