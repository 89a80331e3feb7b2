// Request heads checked before cpp-httplib reads them: limits on size and field count, and
// unambiguous body framing (RFC 9112 section 6).
#include "request_head.h"

#include <gtest/gtest.h>

namespace xclip::server {
namespace {

using State = HeadCheck::State;

TEST(RequestHead, CompleteHeadAndItsFraming) {
  const std::string head = "POST /embed/text HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 12\r\n\r\n{\"inputs\":1}";
  const HeadCheck h = check_request_head(head, {});
  ASSERT_EQ(h.state, State::Complete);
  EXPECT_EQ(h.head_bytes, head.size() - 12);
  EXPECT_EQ(h.content_length, 12u);
  EXPECT_FALSE(h.chunked);
  const HeadCheck chunked = check_request_head("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", {});
  ASSERT_EQ(chunked.state, State::Complete);
  EXPECT_TRUE(chunked.chunked);
}

TEST(RequestHead, IncompleteUntilTheBlankLine) {
  EXPECT_EQ(check_request_head("GET /health HTTP/1.1\r\nHost: x\r\n", {}).state, State::Incomplete);
  EXPECT_EQ(check_request_head("", {}).state, State::Incomplete);
}

TEST(RequestHead, FloodsAreRefusedBeforeTheyEnd) {
  HeadLimits limits;
  limits.max_fields = 8;
  limits.max_bytes = 4096;
  std::string head = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 10; ++i) head += "X-" + std::to_string(i) + ": y\r\n";
  const HeadCheck many = check_request_head(head, limits);  // no blank line yet
  EXPECT_EQ(many.state, State::Refused);
  EXPECT_EQ(many.status, 431);
  const HeadCheck large = check_request_head("GET / HTTP/1.1\r\nX: " + std::string(5000, 'a'), limits);
  EXPECT_EQ(large.state, State::Refused);
  EXPECT_EQ(large.status, 431);
  std::string fits = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 8; ++i) fits += "X-" + std::to_string(i) + ": y\r\n";
  EXPECT_EQ(check_request_head(fits + "\r\n", limits).state, State::Complete);
}

TEST(RequestHead, AmbiguousFramingIsRefused) {
  const auto status = [](const std::string& fields) {
    const HeadCheck h = check_request_head("POST / HTTP/1.1\r\n" + fields + "\r\n", {});
    return h.state == State::Refused ? h.status : 0;
  };
  EXPECT_EQ(status("Content-Length: 5\r\nContent-Length: 5\r\n"), 400);
  EXPECT_EQ(status("Content-Length: 5\r\nContent-Length: 6\r\n"), 400);
  EXPECT_EQ(status("Content-Length: 5, 5\r\n"), 400);
  EXPECT_EQ(status("Content-Length: -1\r\n"), 400);
  EXPECT_EQ(status("Content-Length: 99999999999999999999999\r\n"), 400);
  EXPECT_EQ(status("Transfer-Encoding: gzip, chunked\r\n"), 501);
  EXPECT_EQ(status("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), 400);
  EXPECT_EQ(status("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400);
  EXPECT_EQ(status(" Folded: line\r\n"), 400);
  EXPECT_EQ(status("Bad Name: x\r\n"), 400);
  EXPECT_EQ(status("NoColon\r\n"), 400);
  EXPECT_EQ(status("Content-Length: 5\r\n"), 0);
}

}  // namespace
}  // namespace xclip::server
