// The search page's files, compiled into the binary (generated from tools/server/web).
#pragma once

namespace xclip::server::web {

extern const char* const kIndexHtml;
extern const char* const kAppJs;
extern const char* const kStyleCss;

}  // namespace xclip::server::web
