#include "video/display_order.h"

namespace xclip::video {

std::map<std::int64_t, std::int64_t> keyframe_display_indices(const std::vector<CodedPicture>& pictures,
                                                              bool b_pictures_lead) {
  std::map<std::int64_t, std::int64_t> keys;
  for (std::size_t i = 0; i < pictures.size(); ++i) {
    if (pictures[i].type == '?' || (i > 0 && pictures[i].dts <= pictures[i - 1].dts)) return {};
  }
  for (std::size_t i = 0; i < pictures.size(); ++i) {
    if (!pictures[i].key) continue;
    std::size_t leading = 0;
    while (i + 1 + leading < pictures.size() && pictures[i + 1 + leading].type == 'B') ++leading;
    if (leading > 0 && !b_pictures_lead) continue;
    keys[static_cast<std::int64_t>(i + leading)] = pictures[i].dts;
  }
  return keys;
}

}  // namespace xclip::video
