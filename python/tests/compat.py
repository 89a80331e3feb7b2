"""The registry behind python/COMPATIBILITY.md: each test of a transformers idiom declares the
surface it covers and what xclip does with it. make_compat_table.py writes the table from
these declarations, so a row exists only where a test runs the idiom."""

STATUSES = ("same", "differs", "refuses")
ROWS = []


def compat(surface, status, note):
    """Marks a test as the proof of one row: `surface` as a transformers user writes it,
    `status` one of STATUSES, `note` what xclip does (and, for the last two, why)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")

    def mark(test):
        ROWS.append({"surface": surface, "status": status, "note": note,
                     "test": f"{test.__module__}.py::{test.__name__}"})
        return test

    return mark
