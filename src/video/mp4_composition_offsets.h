// Reads the composition offsets ('ctts') of one MP4 / MOV track straight from the file, for
// the sample-table frame index of streams with B-frames: FFmpeg's index entries carry each
// sample's decode time only, and a sample's presentation time is its decode time plus this
// offset (ISO/IEC 14496-12, 8.6.1.3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xclip::video {

// One offset per sample, in decode order, of the track whose 'tkhd' names `track_id` (FFmpeg's
// AVStream::id for MP4); zeros when the track has no 'ctts' (no reordering). Read as FFmpeg
// reads them: runs with a count of 0 or less are ignored, offsets are signed 32-bit. Nothing
// when the answer is not certain: an unreadable or malformed file (sizes past their box, too
// many entries), a compressed or missing 'moov', no such track, offsets FFmpeg would reject
// (beyond 2^28), or runs that do not add up to exactly `sample_count`.
std::optional<std::vector<std::int64_t>> mp4_composition_offsets(const std::string& path, int track_id,
                                                                 std::int64_t sample_count);

}  // namespace xclip::video
