"""What the stored log of a step says about itself, for the API and the
conductor alike.
"""

# The last line of a log cut at [sandbox] max_log_bytes (API.md).
CUT_LINE = b'[craton] log cut at %d bytes\n'


def cut_line(max_bytes):
    """The line that ends a log cut at ``max_bytes`` bytes."""
    return CUT_LINE % max_bytes


def is_cut(dbapi, step_id, log_bytes):
    """Whether the stored log of a step was cut at its size cap.

    A cut log ends with :data:`CUT_LINE` naming the byte where the cut
    fell, which is the stored length minus that line.
    """
    for digits in range(1, 21):
        size = len(CUT_LINE) - 2 + digits
        cut_at = log_bytes - size
        if cut_at < 0:
            break
        line = cut_line(cut_at)
        if len(line) != size:
            continue
        if dbapi.get_step_log(step_id, cut_at, size) == line:
            return True
    return False
