// EventTracker: when a label or query holds long enough to be an event, and when it ends.
#include "core/check.h"
#include "xclip/watch.h"

namespace xclip {

EventTracker::EventTracker(EventOptions options) : o_(options) {
  XCLIP_CHECK(o_.hold >= 1, InvalidArgument) << "hold must be at least 1 window, got " << o_.hold;
  XCLIP_CHECK(o_.off <= o_.on, InvalidArgument)
      << "the off threshold (" << o_.off << ") must not exceed the on threshold (" << o_.on << ")";
  XCLIP_CHECK(o_.cooldown_seconds >= 0, InvalidArgument) << "cooldown must not be negative";
}

std::optional<EventTracker::Transition> EventTracker::feed(std::int64_t window, double start, double end, double score,
                                                           bool* peak_changed) {
  if (peak_changed) *peak_changed = false;
  if (!active_) {
    // A run of windows at or above `on`, none starting inside the cooldown of the last event.
    if (!(score >= o_.on) || start < cooldown_until_) {
      run_ = 0;
      return std::nullopt;
    }
    if (run_ == 0 || score > run_peak_) {
      run_peak_ = score;
      run_peak_window_ = window;
    }
    if (run_ == 0) run_start_ = start;
    ++run_;
    last_above_end_ = end;
    if (run_ < o_.hold) return std::nullopt;
    active_ = true;
    event_start_ = run_start_;
    peak_ = run_peak_;
    peak_window_ = run_peak_window_;
    return Transition{true, event_start_, end, peak_, peak_window_};
  }
  if (score >= o_.off) {
    last_above_end_ = end;
    if (score > peak_) {
      peak_ = score;
      peak_window_ = window;
      if (peak_changed) *peak_changed = true;
    }
    return std::nullopt;
  }
  return close();
}

std::optional<EventTracker::Transition> EventTracker::close() {
  if (!active_) return std::nullopt;
  active_ = false;
  run_ = 0;
  cooldown_until_ = last_above_end_ + o_.cooldown_seconds;
  return Transition{false, event_start_, last_above_end_, peak_, peak_window_};
}

}  // namespace xclip
