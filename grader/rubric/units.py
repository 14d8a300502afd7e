"""Human sizes and durations in rubric limits: `512 MiB`, `1.5 GB`, `10 s`, `500 ms`, `2 min`.

A bare number is bytes (sizes) or seconds (durations). `k`/`M`/`G` with `B` are decimal
(1 kB = 1000 B), with `iB` binary (1 KiB = 1024 B); unit letters are case-insensitive because
nobody means megabits in a memory limit.
"""

from __future__ import annotations

import re

_SIZE_UNITS = {
    "": 1, "b": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3,
}
_DURATION_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "ms": 0.001, "min": 60.0, "m": 60.0}
_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([A-Za-z]*)\s*$")

SIZE_PATTERN = r"^\s*(\d+(\.\d*)?|\.\d+)\s*([bB]|[kKmMgG][iI]?[bB])?\s*$"
DURATION_PATTERN = r"^\s*(\d+(\.\d*)?|\.\d+)\s*(s|sec|ms|min|m)?\s*$"


def parse_size(value: object) -> object:
    """Bytes from an int or a string like '512 MiB'. Other inputs are returned unchanged,
    for the model's own type check to reject with its usual message."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, str):
        return value
    m = _NUMBER_UNIT.match(value)
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _SIZE_UNITS:
        raise ValueError(f"not a size: {value!r}; write bytes as a number or e.g. '512 MiB', '1 GB'")
    return int(float(m.group(1)) * _SIZE_UNITS[unit])


def parse_duration(value: object) -> object:
    """Seconds from a number or a string like '10 s', '500 ms', '2 min'."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        return value
    m = _NUMBER_UNIT.match(value)
    unit = m.group(2).lower() if m else None
    if m is None or unit not in _DURATION_UNITS:
        raise ValueError(f"not a duration: {value!r}; write seconds as a number or e.g. '10 s', '500 ms'")
    return float(m.group(1)) * _DURATION_UNITS[unit]
