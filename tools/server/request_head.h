// The head of an HTTP/1.1 request (request line and header fields), checked before
// cpp-httplib reads it: how many fields, how large, and whether the framing of the body
// (Content-Length, Transfer-Encoding) is unambiguous. A pure function of the bytes: tested
// apart from sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xclip::server {

struct HeadLimits {
  std::size_t max_bytes = 32 * 1024;  // request line and fields together
  std::size_t max_fields = 64;
};

struct HeadCheck {
  enum class State { Incomplete, Complete, Refused };
  State state = State::Incomplete;
  std::size_t head_bytes = 0;                 // Complete: through the blank line
  std::optional<std::uint64_t> content_length;  // Complete: the announced body size
  bool chunked = false;                        // Complete: Transfer-Encoding: chunked
  int status = 0;                              // Refused: the answer (400, 413, 431, 501)
  std::string reason;                          // Refused: why, for the error body
};

// Looks at the first bytes of a connection's next request. Incomplete until the blank line
// arrives (then the caller waits for more, within its deadline), Refused as soon as the bytes
// break a limit or the framing rules of RFC 9112 (duplicate or conflicting Content-Length,
// a Transfer-Encoding other than chunked, both framings at once), Complete otherwise.
HeadCheck check_request_head(std::string_view bytes, const HeadLimits& limits);

// Renames the header field `from` (any case) to `to` within the first `head_bytes` of
// `bytes`; returns the new head size. The server takes Range requests over from cpp-httplib
// (whose 0.11 announces ranges past the end and answers empty multi-range parts) this way.
std::size_t rename_header_field(std::string& bytes, std::size_t head_bytes, std::string_view from,
                                std::string_view to);

}  // namespace xclip::server
