"""Standing labels and text queries on a live source, as a generator of records.

    for record in xclip.watch("udp://127.0.0.1:5000", labels=["a person falling", "walking"],
                              model="microsoft/xclip-base-patch32"):
        if record["type"] == "event":
            print(record["state"], record["label"], record["start"])

Records are the dicts `xclip watch` prints as JSON lines: "window" (start, end, frame_indices,
labels with label/probability/logit, queries with query/score/logit, latency_ms), "event"
(state start or end, label or query, start, end, peak, peak_window, thumbnail), "skip", "gap"
and "status". Leaving the loop stops the watch; the end of a file or of standard input ends
it; a network source that drops is reopened.
"""

import json
import queue
import threading

from . import _xclip
from .dtypes import weight_type

_END = object()


def watch(source, labels=None, queries=None, model=None, *, background=None, template="{}", window=2.0, stride=1.0,
          on=0.5, off=0.4, hold=2, cooldown=0.0, thumbnails=None, exec=None, webhook=None, follow=False,
          timeout=10.0, max_reconnects=-1, skip_when_behind=None, dtype=None, num_threads=0, max_frames=1024):
    """Watches `source` (a file, "-", udp://, rtp://, rtsp://, http(s)://, a V4L2 device) and
    yields its records as dicts; see xclip.watching and `xclip watch --help`."""
    if model is None:
        raise _xclip.InvalidArgument("watch needs model= (a folder or a hub id)")
    watcher = _xclip.Watcher(str(model), list(labels or []), list(queries or []), list(background or []), template,
                             window, stride, on, off, hold, cooldown, str(thumbnails or ""), exec or "",
                             webhook or "", follow, timeout, max_reconnects, skip_when_behind, weight_type(dtype),
                             num_threads, max_frames)
    records = queue.Queue(maxsize=256)  # a slow consumer holds the analysis back (live sources then skip)
    outcome = {}

    def run():
        try:
            outcome["summary"] = watcher.run(str(source), lambda line: records.put(line))
        except BaseException as e:  # noqa: B036 - handed to the consumer's thread
            outcome["error"] = e
        finally:
            records.put(_END)

    thread = threading.Thread(target=run, name="xclip-watch", daemon=True)
    thread.start()
    try:
        while True:
            item = records.get()
            if item is _END:
                break
            yield json.loads(item)
    finally:
        watcher.stop()
        while thread.is_alive():  # let a blocked put finish
            try:
                records.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
