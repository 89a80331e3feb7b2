// Where the keyframes of a stream without presentation timestamps are shown. AVI stores one
// timestamp per packet, in decode order; with B-frames the decoder reorders, so a keyframe's
// place among the shown frames is not its place among the packets. The picture types the
// codec's parser reads tell it: in MPEG-style coding every picture sent before an anchor (I or
// P) is shown before it, and the B-pictures sent right after it are shown before it too (they
// lie between it and the anchor before). No FFmpeg here: the reader supplies the packets.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace xclip::video {

struct CodedPicture {
  char type = '?';  // 'I', 'P', 'B', ... as av_get_picture_type_char writes it; '?' unknown
  bool key = false;
  std::int64_t dts = 0;
};

// Presentation index -> decode timestamp of each keyframe whose presentation index the picture
// types prove, for `pictures` in decode order. With `b_pictures_lead` (MPEG-1/2, MPEG-4 Part 2:
// B-pictures are never references, so the rule above is the format's) every keyframe is placed;
// otherwise (H.264, HEVC: B-pictures may be references) only keyframes no B-picture follows
// directly, shown where they are sent. Empty when a type is unknown or decode timestamps do not
// increase (the reader then counts frames from the first).
std::map<std::int64_t, std::int64_t> keyframe_display_indices(const std::vector<CodedPicture>& pictures,
                                                              bool b_pictures_lead);

}  // namespace xclip::video
