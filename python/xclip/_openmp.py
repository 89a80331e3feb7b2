"""libgomp's spin policy for this process, chosen before the engine loads libgomp.

libgomp (the OpenMP of the engine's kernels and of oneDNN) reads GOMP_SPINCOUNT once, as it
loads: a thread that finished its share of a parallel region then spins up to that many
iterations (300,000 by default) before it sleeps. While an index update decodes and embeds
at once, the model's spinning threads take the cores the decoder's threads need: indexing 60 s
of 1080p in int8 with 2 s windows took 8.9-9.2 s from Python with the default and 7.8-8.0 s
with 1,000, the command line's setting (docs/search.md). Forward passes alone and searches
measured the same either way. So the package asks for the short spin while its extension
loads, unless the caller chose a policy or libgomp is already loaded (then it cannot change).
"""

import contextlib
import os

SHORT_SPIN = "1000"
POLICY_VARIABLES = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")


def libgomp_loaded():
    try:
        with open("/proc/self/maps") as maps:
            return any("libgomp" in line for line in maps)
    except OSError:
        return True  # cannot tell: leave the process as it is


@contextlib.contextmanager
def short_spin_while_loading():
    """Sets GOMP_SPINCOUNT for the load of the extension and takes it away afterwards, so the
    environment that child processes inherit stays the caller's."""
    chosen = not any(v in os.environ for v in POLICY_VARIABLES) and not libgomp_loaded()
    if chosen:
        os.environ["GOMP_SPINCOUNT"] = SHORT_SPIN
    try:
        yield
    finally:
        if chosen:
            os.environ.pop("GOMP_SPINCOUNT", None)
