"""CPU steal over a stretch of a benchmark, from /proc/stat (shared by the bench scripts):

    with StealMeter() as steal:
        ...
    print(f"CPU steal {steal.percent:.1f} %")
"""


def cpu_ticks():
    """(all ticks, steal ticks) of the machine so far."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:9]]
    return sum(values), values[7]


class StealMeter:
    def __enter__(self):
        self._start = cpu_ticks()
        self.percent = 0.0
        return self

    def __exit__(self, *exc):
        total, steal = cpu_ticks()
        self.percent = 100.0 * (steal - self._start[1]) / max(1, total - self._start[0])
        return False
