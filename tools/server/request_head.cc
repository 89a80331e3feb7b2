#include "request_head.h"

#include <algorithm>

#include "http_guard.h"

namespace xclip::server {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

HeadCheck refuse(int status, std::string reason) {
  HeadCheck h;
  h.state = HeadCheck::State::Refused;
  h.status = status;
  h.reason = std::move(reason);
  return h;
}

std::optional<std::uint64_t> parse_length(std::string_view v) {
  if (v.empty() || v.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

}  // namespace

HeadCheck check_request_head(std::string_view bytes, const HeadLimits& limits) {
  const std::size_t end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (bytes.size() >= limits.max_bytes)
      return refuse(431, "the request head is larger than " + std::to_string(limits.max_bytes) + " bytes");
    // Count the complete field lines seen so far: a flood is refused before its end arrives.
    const std::size_t lines = static_cast<std::size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
    if (lines > limits.max_fields + 1)
      return refuse(431, "the request has more than " + std::to_string(limits.max_fields) + " header fields");
    HeadCheck h;
    return h;
  }
  const std::size_t head_bytes = end + 4;
  if (head_bytes > limits.max_bytes)
    return refuse(431, "the request head is larger than " + std::to_string(limits.max_bytes) + " bytes");

  HeadCheck h;
  h.state = HeadCheck::State::Complete;
  h.head_bytes = head_bytes;
  std::string_view rest = bytes.substr(0, end + 2);
  const std::size_t first = rest.find("\r\n");
  rest.remove_prefix(first + 2);  // the request line: cpp-httplib parses it
  std::size_t fields = 0;
  bool has_length = false, has_encoding = false;
  while (!rest.empty()) {
    const std::size_t eol = rest.find("\r\n");
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    if (++fields > limits.max_fields)
      return refuse(431, "the request has more than " + std::to_string(limits.max_fields) + " header fields");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0 || line.front() == ' ' || line.front() == '\t')
      return refuse(400, "a header field is malformed (no name, or a folded line)");
    const std::string name = ascii_lower(line.substr(0, colon));
    if (name.find_first_of(" \t") != std::string::npos) return refuse(400, "a header name contains white space");
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      const auto n = parse_length(value);
      if (!n) return refuse(400, "Content-Length '" + std::string(value) + "' is not a number");
      if (has_length) return refuse(400, "Content-Length is given twice (the body's framing is ambiguous)");
      has_length = true;
      h.content_length = n;
    } else if (name == "transfer-encoding") {
      if (has_encoding) return refuse(400, "Transfer-Encoding is given twice");
      has_encoding = true;
      if (ascii_lower(value) != "chunked")
        return refuse(501, "Transfer-Encoding '" + std::string(value) + "' is not supported (only chunked)");
      h.chunked = true;
    }
  }
  if (has_length && has_encoding)
    return refuse(400, "both Content-Length and Transfer-Encoding frame the body (request smuggling)");
  return h;
}

std::size_t rename_header_field(std::string& bytes, std::size_t head_bytes, std::string_view from,
                                std::string_view to) {
  const std::string wanted = ascii_lower(from);
  std::size_t line = bytes.find("\r\n") + 2;  // after the request line
  while (line < head_bytes) {
    const std::size_t eol = bytes.find("\r\n", line);
    if (eol == std::string::npos || eol == line) break;
    const std::size_t colon = bytes.find(':', line);
    if (colon != std::string::npos && colon < eol &&
        ascii_lower(std::string_view(bytes).substr(line, colon - line)) == wanted) {
      bytes.replace(line, colon - line, to);
      head_bytes = head_bytes - (colon - line) + to.size();
      line += to.size() + (eol - colon);
    } else {
      line = eol;
    }
    line += 2;
  }
  return head_bytes;
}

}  // namespace xclip::server
