"""sprig's date functions: date dateInZone date_in_zone htmlDate htmlDateInZone toDate mustToDate
unixEpoch duration durationRound dateModify mustDateModify date_modify must_date_modify now.

``GoTime`` is Go's time.Time: an instant (Unix seconds and nanoseconds), a location, and,
for what time.Now returns, a monotonic reading (which its String() shows as "m=+0.0012").
Layouts are Go's reference-time layouts ("2006-01-02 15:04:05.000 MST"), formatted and
parsed as Go's time package does, with its error texts. Named zones come from the system's
zone database through zoneinfo; "Local" is Go's: $TZ, else /etc/localtime.

Left out: ago (it depends on the current time only through time.Since, and reads as a
moving value; dates around now are shape-tested instead).
"""

from __future__ import annotations

import datetime as _dt
import os
import struct
import time as _time
import zoneinfo
from functools import lru_cache
from typing import Any

from dockwright.gotemplate.strconv import NumError, parse_int
from dockwright.gotemplate.values import (
    ANY,
    BOOL,
    INT,
    INT64,
    STRING,
    Func,
    GoError,
    GoObject,
    Int32,
    Int64,
)

_NS = 1_000_000_000
_MIN_INT64 = -(1 << 63)
_MAX_INT64 = (1 << 63) - 1
_ZERO_UNIX = -62135596800  # 0001-01-01 00:00:00 UTC, Go's zero Time

# --- locations ---------------------------------------------------------------------------


class Location:
    """A *time.Location: ``name`` is what Location.String() gives."""

    def __init__(self, name: str) -> None:
        self.name = name

    def lookup(self, unix: int) -> tuple[str, int]:
        """The zone abbreviation and offset (seconds east of UTC) at an instant."""
        return "UTC", 0

    def zone_types(self) -> list[tuple[str, int]]:
        """Every (abbreviation, offset) the location uses (Go's l.zone)."""
        return [self.lookup(0)]


class FixedZone(Location):
    def __init__(self, name: str, offset: int) -> None:
        super().__init__(name)
        self.offset = offset

    def lookup(self, unix: int) -> tuple[str, int]:
        return self.name, self.offset


class ZoneLocation(Location):
    """A location from the zone database (a TZif file)."""

    def __init__(self, name: str, zone: zoneinfo.ZoneInfo, path: str | None) -> None:
        super().__init__(name)
        self.zone = zone
        self.path = path

    def lookup(self, unix: int) -> tuple[str, int]:
        # datetime covers years 1..9999; beyond, the first or last rules hold.
        unix = min(max(unix, -62135596800 + 86400), 253402300799 - 86400)
        moment = _dt.datetime.fromtimestamp(unix, _dt.UTC).astimezone(self.zone)
        offset = moment.utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        return moment.tzname() or "", seconds

    def zone_types(self) -> list[tuple[str, int]]:
        return _tzif_types(self.path) if self.path else []


def _tzif_types(path: str) -> list[tuple[str, int]]:
    """The zone types of a TZif file (abbreviation, UTC offset), as Go reads them."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    if data[:4] != b"TZif":
        return []
    counts = struct.unpack(">6l", data[20:44])
    isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = counts
    pos = 44
    tsize = 4
    if data[4] >= 0x32:  # version 2+: skip the 32-bit block, read the 64-bit one
        pos += timecnt * 5 + typecnt * 6 + charcnt + leapcnt * 8 + isstdcnt + isutcnt
        counts = struct.unpack(">6l", data[pos + 20:pos + 44])
        isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = counts
        pos += 44
        tsize = 8
    pos += timecnt * tsize + timecnt
    types = []
    chars_at = pos + typecnt * 6
    chars = data[chars_at:chars_at + charcnt]
    for i in range(typecnt):
        offset, _isdst, idx = struct.unpack(">lBB", data[pos + i * 6:pos + i * 6 + 6])
        end = chars.find(b"\0", idx)
        types.append((chars[idx:end if end >= 0 else None].decode("ascii", "replace"), offset))
    return types


UTC = Location("UTC")


def _zone_path(name: str) -> str | None:
    for base in zoneinfo.TZPATH:
        path = os.path.join(base, name)
        if os.path.isfile(path):
            return path
    return None


def _load_file(name: str, path: str | None) -> ZoneLocation | None:
    try:
        if path is not None:
            with open(path, "rb") as f:
                zone = zoneinfo.ZoneInfo.from_file(f, key=name)
        else:
            zone = zoneinfo.ZoneInfo(name)
    except (OSError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None
    return ZoneLocation(name, zone, path)


@lru_cache(maxsize=1)
def local() -> Location:
    """Go's time.Local: $TZ (a zone name or a file), else /etc/localtime, else UTC."""
    tz = os.environ.get("TZ")
    if tz is None:
        loc = _load_file("Local", "/etc/localtime")
        if loc is not None:
            return loc
    elif tz != "":
        if tz[0] == ":":
            tz = tz[1:]
        if tz.startswith("/"):
            loc = _load_file(tz, tz)
            if loc is not None:
                loc.name = "Local" if tz == "/etc/localtime" else tz
                return loc
        elif tz and tz != "UTC":
            loc = _load_file(tz, _zone_path(tz))
            if loc is not None:
                loc.name = tz
                return loc
    return Location("UTC")


def load_location(name: str) -> Location | None:
    """time.LoadLocation (None for its error)."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return local()
    if ".." in name or name[0] in "/\\":
        return None
    path = _zone_path(name)
    if path is None:
        return None
    return _load_file(name, path)


# --- calendar ----------------------------------------------------------------------------

def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


_LONG_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_LONG_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December"]
_SHORT_DAYS = [d[:3] for d in _LONG_DAYS]
_SHORT_MONTHS = [m[:3] for m in _LONG_MONTHS]
_DAYS_BEFORE = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365]


def _wrap64(n: int) -> int:
    n &= (1 << 64) - 1
    return n - (1 << 64) if n >> 63 else n


# --- time.Time ---------------------------------------------------------------------------

_MONO_BASE = _time.monotonic_ns()


class _Named(GoObject):
    """A time.Month or time.Weekday: prints as its name."""

    def __init__(self, gotype: str, value: int, name: str) -> None:
        self.gotype = gotype
        self.value = value
        self.name = name

    def go_string(self) -> str:
        return self.name

    def go_json(self) -> str:
        return str(self.value)


class GoTime(GoObject):
    """A time.Time (``pointer``: a *time.Time)."""

    def __init__(self, sec: int, nsec: int = 0, loc: Location = UTC, mono: int | None = None,
                 pointer: bool = False) -> None:
        sec += nsec // _NS
        self.sec = sec
        self.nsec = nsec % _NS
        self.loc = loc
        self.mono = mono
        self.pointer = pointer
        self.gotype = "*time.Time" if pointer else "time.Time"

    def __repr__(self) -> str:
        return f"GoTime({self.string()!r})"

    def go_deref(self) -> Any:
        return GoTime(self.sec, self.nsec, self.loc, self.mono) if self.pointer else None

    # -- fields

    def zone(self) -> tuple[str, int]:
        return self.loc.lookup(self.sec)

    def fields(self) -> tuple[int, int, int, int, int, int, int, int]:
        """year, month, day, hour, minute, second, weekday (0 Sunday), yday (1-based)."""
        _, offset = self.zone()
        local_sec = self.sec + offset
        days, rem = divmod(local_sec, 86400)
        y, m, d = _civil_from_days(days)
        yday = days - _days_from_civil(y, 1, 1) + 1
        return y, m, d, rem // 3600, rem % 3600 // 60, rem % 60, (days + 4) % 7, yday

    # -- conversions

    def with_loc(self, loc: Location) -> GoTime:
        return GoTime(self.sec, self.nsec, loc)  # In, UTC and Local drop the monotonic reading

    def add(self, d: int) -> GoTime:
        mono = None if self.mono is None else self.mono + d
        return GoTime(self.sec, self.nsec + d, self.loc, mono)

    def unix(self) -> int:
        return self.sec

    # -- formatting

    def format(self, layout: str) -> str:
        return format_time(self, layout)

    def string(self) -> str:
        s = self.format("2006-01-02 15:04:05.999999999 -0700 MST")
        if self.mono is not None:
            m = self.mono
            sign = "-" if m < 0 else "+"
            m = abs(m)
            m1, m2 = divmod(m, _NS)
            m0, m1 = divmod(m1, _NS)
            head = f"{m0}{m1:09d}" if m0 else str(m1)
            s += f" m={sign}{head}.{m2:09d}"
        return s

    def go_string(self) -> str:
        return self.string()

    def go_json(self) -> str:
        year = self.fields()[0]
        if year < 0 or year >= 10000:
            raise GoError("Time.MarshalJSON: year outside of range [0,9999]")
        return '"' + self.format("2006-01-02T15:04:05.999999999Z07:00") + '"'

    def go_methods(self) -> dict[str, Func]:
        def field(i: int) -> Func:
            return Func(lambda: self.fields()[i], result=INT)

        def same(other: GoTime) -> int:
            return (self.sec, self.nsec) > (other.sec, other.nsec)

        return {
            "String": Func(self.string, result=STRING),
            "Format": Func(self.format, (STRING,), result=STRING),
            "Unix": Func(lambda: self.sec, result=INT64),
            "UnixMilli": Func(lambda: self.sec * 1000 + self.nsec // 1_000_000, result=INT64),
            "UnixMicro": Func(lambda: self.sec * 1_000_000 + self.nsec // 1000, result=INT64),
            "UnixNano": Func(lambda: _wrap64(self.sec * _NS + self.nsec), result=INT64),
            "UTC": Func(lambda: self.with_loc(UTC), result="time.Time"),
            "Local": Func(lambda: self.with_loc(local()), result="time.Time"),
            "Year": field(0),
            "Month": Func(lambda: _Named("time.Month", self.fields()[1],
                                         _LONG_MONTHS[self.fields()[1] - 1]),
                          result="time.Month"),
            "Day": field(2),
            "Hour": field(3),
            "Minute": field(4),
            "Second": field(5),
            "Nanosecond": Func(lambda: self.nsec, result=INT),
            "Weekday": Func(lambda: _Named("time.Weekday", self.fields()[6],
                                           _LONG_DAYS[self.fields()[6]]), result="time.Weekday"),
            "YearDay": field(7),
            "IsZero": Func(lambda: self.sec == _ZERO_UNIX and self.nsec == 0, result=BOOL),
            "Add": Func(lambda d: self.add(int(d)), ("time.Duration",), result="time.Time"),
            "AddDate": Func(self.add_date, (INT, INT, INT), result="time.Time"),
            "Before": Func(lambda o: (self.sec, self.nsec) < (o.sec, o.nsec), ("time.Time",),
                           result=BOOL),
            "After": Func(same, ("time.Time",), result=BOOL),
            "Equal": Func(lambda o: (self.sec, self.nsec) == (o.sec, o.nsec), ("time.Time",),
                          result=BOOL),
        }

    def add_date(self, years: int, months: int, days: int) -> GoTime:
        y, m, d, hh, mm, ss = self.fields()[:6]
        t = make_time(y + years, m + months, d + days, hh, mm, ss, self.nsec, self.loc)
        return t


def make_time(year: int, month: int, day: int, hour: int, minute: int, sec: int, nsec: int,
              loc: Location) -> GoTime:
    """time.Date: fields normalized, the zone offset looked up as Go does."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    wall = (_days_from_civil(year, month, 1) + day - 1) * 86400 + hour * 3600 + minute * 60 \
        + sec + nsec // _NS
    nsec %= _NS
    _, offset = loc.lookup(wall)
    if offset:
        _, offset = loc.lookup(wall - offset)
    return GoTime(wall - offset, nsec, loc)


def now() -> GoTime:
    """time.Now: the current instant in Local, with a monotonic reading."""
    ns = _time.time_ns()
    return GoTime(ns // _NS, ns % _NS, local(), mono=_time.monotonic_ns() - _MONO_BASE + 1)


# --- layouts -----------------------------------------------------------------------------

(_LONG_MONTH, _MONTH, _NUM_MONTH, _ZERO_MONTH, _LONG_WEEKDAY, _WEEKDAY, _DAY, _UNDER_DAY,
 _ZERO_DAY, _UNDER_YEARDAY, _ZERO_YEARDAY, _HOUR, _HOUR12, _ZERO_HOUR12, _MINUTE, _ZERO_MINUTE,
 _SECOND, _ZERO_SECOND, _LONG_YEAR, _YEAR, _PM, _pm, _TZ, _ISO8601_TZ, _ISO8601_SECONDS_TZ,
 _ISO8601_SHORT_TZ, _ISO8601_COLON_TZ, _ISO8601_COLON_SECONDS_TZ, _NUM_TZ, _NUM_SECONDS_TZ,
 _NUM_SHORT_TZ, _NUM_COLON_TZ, _NUM_COLON_SECONDS_TZ, _FRAC0, _FRAC9) = range(1, 36)
_NEED_DATE = frozenset((_LONG_MONTH, _MONTH, _NUM_MONTH, _ZERO_MONTH, _LONG_WEEKDAY, _WEEKDAY,
                        _DAY, _UNDER_DAY, _ZERO_DAY, _UNDER_YEARDAY, _ZERO_YEARDAY, _LONG_YEAR,
                        _YEAR))
_STD0X = [_ZERO_MONTH, _ZERO_DAY, _ZERO_HOUR12, _ZERO_MINUTE, _ZERO_SECOND, _YEAR]
_ISO_TZ = frozenset((_ISO8601_TZ, _ISO8601_COLON_TZ, _ISO8601_SECONDS_TZ, _ISO8601_SHORT_TZ,
                     _ISO8601_COLON_SECONDS_TZ))
_NUMERIC_TZ = _ISO_TZ | {_NUM_TZ, _NUM_COLON_TZ, _NUM_SECONDS_TZ, _NUM_SHORT_TZ,
                         _NUM_COLON_SECONDS_TZ}


class _Std:
    """A layout element: its code, and for fractional seconds the digits and separator."""

    __slots__ = ("code", "digits", "sep")

    def __init__(self, code: int, digits: int = 0, sep: str = ".") -> None:
        self.code, self.digits, self.sep = code, digits, sep


def _starts_lower(s: str) -> bool:
    return bool(s) and "a" <= s[0] <= "z"


def next_std_chunk(layout: str) -> tuple[str, _Std | None, str]:
    """Go's nextStdChunk: the text before the first layout element, it, and the rest."""
    n = len(layout)
    for i in range(n):
        c = layout[i]
        if c == "J" and layout[i:i + 3] == "Jan":
            if layout[i:i + 7] == "January":
                return layout[:i], _Std(_LONG_MONTH), layout[i + 7:]
            if not _starts_lower(layout[i + 3:]):
                return layout[:i], _Std(_MONTH), layout[i + 3:]
        elif c == "M" and n >= i + 3:
            if layout[i:i + 3] == "Mon":
                if layout[i:i + 6] == "Monday":
                    return layout[:i], _Std(_LONG_WEEKDAY), layout[i + 6:]
                if not _starts_lower(layout[i + 3:]):
                    return layout[:i], _Std(_WEEKDAY), layout[i + 3:]
            if layout[i:i + 3] == "MST":
                return layout[:i], _Std(_TZ), layout[i + 3:]
        elif c == "0":
            if n >= i + 2 and "1" <= layout[i + 1] <= "6":
                return layout[:i], _Std(_STD0X[ord(layout[i + 1]) - 49]), layout[i + 2:]
            if layout[i + 1:i + 3] == "02":
                return layout[:i], _Std(_ZERO_YEARDAY), layout[i + 3:]
        elif c == "1":
            if layout[i + 1:i + 2] == "5":
                return layout[:i], _Std(_HOUR), layout[i + 2:]
            return layout[:i], _Std(_NUM_MONTH), layout[i + 1:]
        elif c == "2":
            if layout[i:i + 4] == "2006":
                return layout[:i], _Std(_LONG_YEAR), layout[i + 4:]
            return layout[:i], _Std(_DAY), layout[i + 1:]
        elif c == "_":
            if layout[i + 1:i + 2] == "2":
                if layout[i + 1:i + 5] == "2006":
                    return layout[:i + 1], _Std(_LONG_YEAR), layout[i + 5:]
                return layout[:i], _Std(_UNDER_DAY), layout[i + 2:]
            if layout[i + 1:i + 3] == "_2":
                return layout[:i], _Std(_UNDER_YEARDAY), layout[i + 3:]
        elif c == "3":
            return layout[:i], _Std(_HOUR12), layout[i + 1:]
        elif c == "4":
            return layout[:i], _Std(_MINUTE), layout[i + 1:]
        elif c == "5":
            return layout[:i], _Std(_SECOND), layout[i + 1:]
        elif c == "P" and layout[i + 1:i + 2] == "M":
            return layout[:i], _Std(_PM), layout[i + 2:]
        elif c == "p" and layout[i + 1:i + 2] == "m":
            return layout[:i], _Std(_pm), layout[i + 2:]
        elif c in "-Z":
            iso = c == "Z"
            for text, num, isocode in (("070000", _NUM_SECONDS_TZ, _ISO8601_SECONDS_TZ),
                                       ("07:00:00", _NUM_COLON_SECONDS_TZ,
                                        _ISO8601_COLON_SECONDS_TZ),
                                       ("0700", _NUM_TZ, _ISO8601_TZ),
                                       ("07:00", _NUM_COLON_TZ, _ISO8601_COLON_TZ),
                                       ("07", _NUM_SHORT_TZ, _ISO8601_SHORT_TZ)):
                if layout[i + 1:i + 1 + len(text)] == text:
                    return layout[:i], _Std(isocode if iso else num), layout[i + 1 + len(text):]
        elif c in ".," and i + 1 < n and layout[i + 1] in "09":
            ch = layout[i + 1]
            j = i + 1
            while j < n and layout[j] == ch:
                j += 1
            if not (j < n and "0" <= layout[j] <= "9"):
                code = _FRAC0 if ch == "0" else _FRAC9
                return layout[:i], _Std(code, (j - (i + 1)) & 0xFFF, c), layout[j:]
    return layout, None, ""


def _append_int(x: int, width: int) -> str:
    digits = str(abs(x)).rjust(width, "0")
    return "-" + digits if x < 0 else digits


def format_time(t: GoTime, layout: str) -> str:
    """Time.Format."""
    name, offset = t.zone()
    y, mo, d, hh, mi, ss, wd, yd = t.fields()
    out = []
    while layout:
        prefix, std, layout = next_std_chunk(layout)
        out.append(prefix)
        if std is None:
            break
        code = std.code
        if code == _YEAR:
            out.append(_append_int(abs(y) % 100, 2))
        elif code == _LONG_YEAR:
            out.append(_append_int(y, 4))
        elif code == _MONTH:
            out.append(_SHORT_MONTHS[mo - 1])
        elif code == _LONG_MONTH:
            out.append(_LONG_MONTHS[mo - 1])
        elif code == _NUM_MONTH:
            out.append(str(mo))
        elif code == _ZERO_MONTH:
            out.append(_append_int(mo, 2))
        elif code == _WEEKDAY:
            out.append(_SHORT_DAYS[wd])
        elif code == _LONG_WEEKDAY:
            out.append(_LONG_DAYS[wd])
        elif code == _DAY:
            out.append(str(d))
        elif code == _UNDER_DAY:
            out.append(f"{d:2d}")
        elif code == _ZERO_DAY:
            out.append(_append_int(d, 2))
        elif code == _UNDER_YEARDAY:
            out.append(f"{yd:3d}")
        elif code == _ZERO_YEARDAY:
            out.append(_append_int(yd, 3))
        elif code == _HOUR:
            out.append(_append_int(hh, 2))
        elif code in (_HOUR12, _ZERO_HOUR12):
            hr = hh % 12 or 12
            out.append(_append_int(hr, 2 if code == _ZERO_HOUR12 else 0))
        elif code == _MINUTE:
            out.append(str(mi))
        elif code == _ZERO_MINUTE:
            out.append(_append_int(mi, 2))
        elif code == _SECOND:
            out.append(str(ss))
        elif code == _ZERO_SECOND:
            out.append(_append_int(ss, 2))
        elif code == _PM:
            out.append("PM" if hh >= 12 else "AM")
        elif code == _pm:
            out.append("pm" if hh >= 12 else "am")
        elif code in _NUMERIC_TZ:
            out.append(_format_offset(code, offset))
        elif code == _TZ:
            if name:
                out.append(name)
            else:
                zone = offset // 60 if offset >= 0 else -(-offset // 60)
                sign = "-" if zone < 0 else "+"
                zone = abs(zone)
                out.append(f"{sign}{zone // 60:02d}{zone % 60:02d}")
        elif code in (_FRAC0, _FRAC9):
            out.append(_format_nano(t.nsec, std))
    return "".join(out)


def _format_offset(code: int, offset: int) -> str:
    if offset == 0 and code in _ISO_TZ:
        return "Z"
    zone = int(offset / 60)
    absoffset = offset
    out = []
    if zone < 0:
        out.append("-")
        zone = -zone
        absoffset = -absoffset
    else:
        out.append("+")
    out.append(_append_int(zone // 60, 2))
    if code in (_ISO8601_COLON_TZ, _NUM_COLON_TZ, _ISO8601_COLON_SECONDS_TZ,
                _NUM_COLON_SECONDS_TZ):
        out.append(":")
    if code not in (_NUM_SHORT_TZ, _ISO8601_SHORT_TZ):
        out.append(_append_int(zone % 60, 2))
    if code in (_ISO8601_SECONDS_TZ, _NUM_SECONDS_TZ, _NUM_COLON_SECONDS_TZ,
                _ISO8601_COLON_SECONDS_TZ):
        if code in (_NUM_COLON_SECONDS_TZ, _ISO8601_COLON_SECONDS_TZ):
            out.append(":")
        out.append(_append_int(absoffset % 60, 2))
    return "".join(out)


def _format_nano(nsec: int, std: _Std) -> str:
    digits = f"{nsec:09d}"
    n = min(std.digits, 9)
    if std.code == _FRAC9:
        while n > 0 and digits[n - 1] == "0":
            n -= 1
        if n == 0:
            return ""
    return std.sep + digits[:n]


# --- parsing -----------------------------------------------------------------------------

class _Bad(Exception):
    pass


def _time_quote(s: str) -> str:
    """time's quote: invalid and non-ASCII bytes and control bytes as \\x escapes."""
    out = ['"']
    for c in s:
        o = ord(c)
        if o >= 0x80 or o < 0x20:
            for b in c.encode("utf-8", "surrogateescape"):
                out.append(f"\\x{b:02x}")
        else:
            if c in '"\\':
                out.append("\\")
            out.append(c)
    out.append('"')
    return "".join(out)


class TimeParseError(GoError):
    pass


def _parse_error(layout: str, value: str, layout_elem: str, value_elem: str,
                 message: str) -> TimeParseError:
    if message:
        return TimeParseError(f"parsing time {_time_quote(value)}{message}")
    return TimeParseError(f"parsing time {_time_quote(value)} as {_time_quote(layout)}: cannot "
                          f"parse {_time_quote(value_elem)} as {_time_quote(layout_elem)}")


def _is_digit(s: str, i: int) -> bool:
    return i < len(s) and "0" <= s[i] <= "9"


def _getnum(s: str, fixed: bool) -> tuple[int, str]:
    if not _is_digit(s, 0):
        raise _Bad
    if not _is_digit(s, 1):
        if fixed:
            raise _Bad
        return ord(s[0]) - 48, s[1:]
    return (ord(s[0]) - 48) * 10 + ord(s[1]) - 48, s[2:]


def _getnum3(s: str, fixed: bool) -> tuple[int, str]:
    n = i = 0
    while i < 3 and _is_digit(s, i):
        n = n * 10 + ord(s[i]) - 48
        i += 1
    if i == 0 or (fixed and i != 3):
        raise _Bad
    return n, s[i:]


def _skip(value: str, prefix: str) -> str:
    while prefix:
        if prefix[0] == " ":
            if value and value[0] != " ":
                raise _Bad
            prefix = prefix.lstrip(" ")
            value = value.lstrip(" ")
            continue
        if not value or value[0] != prefix[0]:
            raise _Bad
        prefix, value = prefix[1:], value[1:]
    return value


def _atoi(s: str) -> int:
    neg = False
    if s[:1] in ("-", "+"):
        neg = s[0] == "-"
        s = s[1:]
    x, rem = _leading_int(s)
    if rem:
        raise _Bad
    return -x if neg else x


def _leading_int(s: str) -> tuple[int, str]:
    x = 0
    i = 0
    while i < len(s) and "0" <= s[i] <= "9":
        if x > (1 << 63) // 10:
            raise _Bad
        x = x * 10 + ord(s[i]) - 48
        if x > 1 << 63:
            raise _Bad
        i += 1
    return x, s[i:]


def _match(s1: str, s2: str) -> bool:
    """time's match: equal but for the case of ASCII letters."""
    for c1, c2 in zip(s1, s2, strict=True):
        if c1 != c2:
            a, b = ord(c1) | 0x20, ord(c2) | 0x20
            if a != b or not 0x61 <= a <= 0x7A:
                return False
    return True


def _lookup(tab: list[str], val: str) -> tuple[int, str]:
    for i, v in enumerate(tab):
        if len(val) >= len(v) and _match(val[:len(v)], v):
            return i, val[len(v):]
    raise _Bad


def _parse_nanoseconds(value: str, nbytes: int) -> tuple[int, str]:
    if value[0] not in ".,":
        raise _Bad
    if nbytes > 10:
        value = value[:10]
        nbytes = 10
    ns = _atoi(value[1:nbytes])
    if ns < 0:
        return 0, "fractional second"
    return ns * 10 ** (10 - nbytes), ""


def _parse_signed_offset(value: str) -> int:
    if value[0] not in "+-":
        return 0
    try:
        x, rem = _leading_int(value[1:])
    except _Bad:
        return 0
    if value[1:] == rem or x > 23:
        return 0
    return len(value) - len(rem)


def _parse_time_zone(value: str) -> int:
    if len(value) < 3:
        return 0
    if value[:4] in ("ChST", "MeST"):
        return 4
    if value[:3] == "GMT":
        return 3 + (_parse_signed_offset(value[3:]) if value[3:] else 0)
    if value[0] in "+-":
        return _parse_signed_offset(value)
    n = 0
    while n < 6 and n < len(value) and "A" <= value[n] <= "Z":
        n += 1
    if n == 3:
        return 3
    if n == 4 and (value[3] == "T" or value[:4] == "WITA"):
        return 4
    if n == 5 and value[4] == "T":
        return 5
    return 0


def parse_time(layout: str, value: str, default: Location, loc: Location) -> GoTime:
    """time.parse (ParseInLocation(layout, value, loc) passes loc twice)."""
    alayout, avalue = layout, value
    range_err = ""
    am = pm = False
    year, month, day, yday = 0, -1, -1, -1
    hour = minute = sec = nsec = 0
    z: Location | None = None
    zone_offset = -1
    zone_name = ""
    while True:
        prefix, std, suffix = next_std_chunk(layout)
        stdstr = layout[len(prefix):len(layout) - len(suffix)]
        try:
            value = _skip(value, prefix)
        except _Bad:
            raise _parse_error(alayout, avalue, prefix, value, "") from None
        if std is None:
            if value:
                raise _parse_error(alayout, avalue, "", value, ": extra text: "
                                   + _time_quote(value))
            break
        layout = suffix
        code = std.code
        hold = value
        try:
            if code == _YEAR:
                if len(value) < 2:
                    raise _Bad
                p, value = value[:2], value[2:]
                try:
                    year = _atoi(p)
                except _Bad:
                    value = hold
                    raise
                year += 1900 if year >= 69 else 2000
            elif code == _LONG_YEAR:
                if len(value) < 4 or not _is_digit(value, 0):
                    raise _Bad
                p, value = value[:4], value[4:]
                year = _atoi(p)
            elif code in (_MONTH, _LONG_MONTH):
                month, value = _lookup(_SHORT_MONTHS if code == _MONTH else _LONG_MONTHS, value)
                month += 1
            elif code in (_NUM_MONTH, _ZERO_MONTH):
                month, value = _getnum(value, code == _ZERO_MONTH)
                if month <= 0 or month > 12:
                    range_err = "month"
            elif code in (_WEEKDAY, _LONG_WEEKDAY):
                _, value = _lookup(_SHORT_DAYS if code == _WEEKDAY else _LONG_DAYS, value)
            elif code in (_DAY, _UNDER_DAY, _ZERO_DAY):
                if code == _UNDER_DAY and value[:1] == " ":
                    value = value[1:]
                day, value = _getnum(value, code == _ZERO_DAY)
            elif code in (_UNDER_YEARDAY, _ZERO_YEARDAY):
                for _ in range(2):
                    if code == _UNDER_YEARDAY and value[:1] == " ":
                        value = value[1:]
                yday, value = _getnum3(value, code == _ZERO_YEARDAY)
            elif code == _HOUR:
                hour, value = _getnum(value, False)
                if hour >= 24:
                    range_err = "hour"
            elif code in (_HOUR12, _ZERO_HOUR12):
                hour, value = _getnum(value, code == _ZERO_HOUR12)
                if hour > 12:
                    range_err = "hour"
            elif code in (_MINUTE, _ZERO_MINUTE):
                minute, value = _getnum(value, code == _ZERO_MINUTE)
                if minute >= 60:
                    range_err = "minute"
            elif code in (_SECOND, _ZERO_SECOND):
                sec, value = _getnum(value, code == _ZERO_SECOND)
                if sec >= 60:
                    range_err = "second"
                elif len(value) >= 2 and value[0] in ".," and _is_digit(value, 1):
                    _, nxt, _ = next_std_chunk(layout)
                    if nxt is None or nxt.code not in (_FRAC0, _FRAC9):
                        n = 2
                        while n < len(value) and _is_digit(value, n):
                            n += 1
                        value, rest = value[n:], value
                        nsec, range_err = _parse_nanoseconds(rest, n)
            elif code in (_PM, _pm):
                if len(value) < 2:
                    raise _Bad
                p, value = value[:2], value[2:]
                if p == ("PM" if code == _PM else "pm"):
                    pm = True
                elif p == ("AM" if code == _PM else "am"):
                    am = True
                else:
                    raise _Bad
            elif code in _NUMERIC_TZ:
                if code in (_ISO8601_TZ, _ISO8601_SHORT_TZ, _ISO8601_COLON_TZ) \
                        and value[:1] == "Z":
                    value = value[1:]
                    z = UTC
                else:
                    parts, value = _offset_parts(code, value)
                    zone_offset = _offset(*parts)
            elif code == _TZ:
                if value[:3] == "UTC":
                    z = UTC
                    value = value[3:]
                else:
                    n = _parse_time_zone(value)
                    if n <= 0:
                        raise _Bad
                    zone_name, value = value[:n], value[n:]
            elif code == _FRAC0:
                ndigit = 1 + std.digits
                if len(value) < ndigit:
                    raise _Bad
                value, rest = value[ndigit:], value
                nsec, range_err = _parse_nanoseconds(rest, ndigit)
            elif code == _FRAC9 and len(value) >= 2 and value[0] in ".," \
                    and "0" <= value[1] <= "9":
                i = 0
                while i < 9 and i + 1 < len(value) and "0" <= value[i + 1] <= "9":
                    i += 1
                value, rest = value[1 + i:], value
                nsec, range_err = _parse_nanoseconds(rest, 1 + i)
        except _Bad:
            raise _parse_error(alayout, avalue, stdstr, value, "") from None
        if range_err:
            raise _parse_error(alayout, avalue, stdstr, value, f": {range_err} out of range")
    if pm and hour < 12:
        hour += 12
    elif am and hour == 12:
        hour = 0
    if yday >= 0:
        m = d = 0
        if _is_leap(year):
            if yday == 31 + 29:
                m, d = 2, 29
            elif yday > 31 + 29:
                yday -= 1
        if yday < 1 or yday > 365:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year out of range")
        if m == 0:
            m = (yday - 1) // 31 + 1
            if _DAYS_BEFORE[m] < yday:
                m += 1
            d = yday - _DAYS_BEFORE[m - 1]
        if month >= 0 and month != m:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year does not match month")
        month = m
        if day >= 0 and day != d:
            raise _parse_error(alayout, avalue, "", value, ": day-of-year does not match day")
        day = d
    else:
        if month < 0:
            month = 1
        if day < 0:
            day = 1
    if day < 1 or day > _days_in(month, year):
        raise _parse_error(alayout, avalue, "", value, ": day out of range")
    if z is not None:
        return make_time(year, month, day, hour, minute, sec, nsec, z)
    if zone_offset != -1:
        t = make_time(year, month, day, hour, minute, sec, nsec, UTC)
        unix = t.sec - zone_offset
        name, offset = loc.lookup(unix)
        if offset == zone_offset and (not zone_name or name == zone_name):
            return GoTime(unix, nsec, loc)
        return GoTime(unix, nsec, FixedZone(zone_name, zone_offset))
    if zone_name:
        t = make_time(year, month, day, hour, minute, sec, nsec, UTC)
        found = _lookup_name(loc, zone_name, t.sec)
        if found is not None:
            return GoTime(t.sec - found, nsec, loc)
        offset = 0
        if len(zone_name) > 3 and zone_name[:3] == "GMT":
            offset = _atoi(zone_name[3:]) * 3600
        return GoTime(t.sec, nsec, FixedZone(zone_name, offset))
    return make_time(year, month, day, hour, minute, sec, nsec, default)


def _offset_parts(code: int, value: str) -> tuple[tuple[str, str, str, str], str]:
    """The sign, hours, minutes and seconds of a numeric zone, and the rest of the value."""
    if code in (_ISO8601_COLON_TZ, _NUM_COLON_TZ):
        if len(value) < 6 or value[3] != ":":
            raise _Bad
        return (value[0], value[1:3], value[4:6], "00"), value[6:]
    if code in (_NUM_SHORT_TZ, _ISO8601_SHORT_TZ):
        if len(value) < 3:
            raise _Bad
        return (value[0], value[1:3], "00", "00"), value[3:]
    if code in (_ISO8601_COLON_SECONDS_TZ, _NUM_COLON_SECONDS_TZ):
        if len(value) < 9 or value[3] != ":" or value[6] != ":":
            raise _Bad
        return (value[0], value[1:3], value[4:6], value[7:9]), value[9:]
    if code in (_ISO8601_SECONDS_TZ, _NUM_SECONDS_TZ):
        if len(value) < 7:
            raise _Bad
        return (value[0], value[1:3], value[3:5], value[5:7]), value[7:]
    if len(value) < 5:
        raise _Bad
    return (value[0], value[1:3], value[3:5], "00"), value[5:]


def _offset(sign: str, hh: str, mm: str, ss: str) -> int:
    offset = (_atoi(hh) * 60 + _atoi(mm)) * 60 + _atoi(ss)
    if sign == "-":
        return -offset
    if sign != "+":
        raise _Bad
    return offset


def _lookup_name(loc: Location, name: str, unix: int) -> int | None:
    """Location.lookupName: the offset of a zone abbreviation the location uses."""
    types = loc.zone_types()
    for zname, offset in types:
        if zname == name and loc.lookup(unix - offset)[0] == zname:
            return loc.lookup(unix - offset)[1]
    for zname, offset in types:
        if zname == name:
            return offset
    return None


# --- durations ---------------------------------------------------------------------------

def _fmt_frac(v: int, prec: int) -> tuple[str, int]:
    out = []
    printing = False
    for _ in range(prec):
        digit = v % 10
        printing = printing or digit != 0
        if printing:
            out.append(str(digit))
        v //= 10
    if printing:
        out.append(".")
    return "".join(reversed(out)), v


def duration_string(d: int) -> str:
    """time.Duration.String: "1h2m3.5s", "1.5ms", "0s"."""
    d = _wrap64(d)
    neg = d < 0
    u = -d if neg else d
    if u < _NS:
        if u == 0:
            return "0s"
        if u < 1000:
            prec, unit = 0, "ns"
        elif u < 1_000_000:
            prec, unit = 3, "µs"
        else:
            prec, unit = 6, "ms"
        frac, u = _fmt_frac(u, prec)
        s = f"{u}{frac}{unit}"
    else:
        frac, u = _fmt_frac(u, 9)
        s = f"{u % 60}{frac}s"
        u //= 60
        if u > 0:
            s = f"{u % 60}m{s}"
            u //= 60
            if u > 0:
                s = f"{u}h{s}"
    return "-" + s if neg else s


_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "μs": 1000, "ms": 1_000_000, "s": _NS,
          "m": 60 * _NS, "h": 3600 * _NS}


def _leading_fraction(s: str) -> tuple[int, float, str]:
    x = 0
    scale = 1.0
    overflow = False
    i = 0
    while i < len(s) and "0" <= s[i] <= "9":
        if not overflow:
            if x > ((1 << 63) - 1) // 10:
                overflow = True
            else:
                y = x * 10 + ord(s[i]) - 48
                if y > 1 << 63:
                    overflow = True
                else:
                    x = y
                    scale *= 10
        i += 1
    return x, scale, s[i:]


def parse_duration(s: str) -> int:
    """time.ParseDuration; raises GoError with Go's text."""
    orig = s
    invalid = GoError("time: invalid duration " + _time_quote(orig))
    d = 0
    neg = False
    if s and s[0] in "+-":
        neg = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if s == "":
        raise invalid
    while s:
        f, scale = 0, 1.0
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise invalid
        pl = len(s)
        try:
            v, s = _leading_int(s)
        except _Bad:
            raise invalid from None
        pre = pl != len(s)
        post = False
        if s[:1] == ".":
            s = s[1:]
            pl = len(s)
            f, scale, s = _leading_fraction(s)
            post = pl != len(s)
        if not pre and not post:
            raise invalid
        i = 0
        while i < len(s) and not (s[i] == "." or "0" <= s[i] <= "9"):
            i += 1
        if i == 0:
            raise GoError("time: missing unit in duration " + _time_quote(orig))
        u, s = s[:i], s[i:]
        unit = _UNITS.get(u)
        if unit is None:
            raise GoError(f"time: unknown unit {_time_quote(u)} in duration "
                          + _time_quote(orig))
        if v > (1 << 63) // unit:
            raise invalid
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > 1 << 63:
                raise invalid
        d += v
        if d > 1 << 63:
            raise invalid
    if neg:
        return _wrap64(-d)
    if d > _MAX_INT64:
        raise invalid
    return d


# --- sprig's functions -------------------------------------------------------------------

def _to_time(value: Any) -> GoTime:
    if isinstance(value, GoTime):
        return value
    if isinstance(value, Int64 | Int32) or type(value) is int:
        return GoTime(int(value), 0, local())
    return now()


def _date_in_zone(fmt: str, value: Any, zone: str) -> str:
    loc = load_location(zone) or UTC
    return _to_time(value).with_loc(loc).format(fmt)


def _duration(sec: Any) -> str:
    n = 0
    if type(sec) is str:
        try:
            n = parse_int(sec, 10, 64)
        except NumError as exc:
            n = getattr(exc, "value", 0)
    elif isinstance(sec, Int64):
        n = int(sec)
    return duration_string(_wrap64(n * _NS))


def _duration_round(value: Any) -> str:
    d = 0
    if type(value) is str:
        try:
            d = parse_duration(value)
        except GoError:
            d = 0
    elif isinstance(value, Int64):
        d = int(value)
    elif isinstance(value, GoTime):
        t = now()
        d = _wrap64((t.sec - value.sec) * _NS + t.nsec - value.nsec)
    u = abs(d)
    hour = 3600 * _NS
    for size, suffix in ((hour * 24 * 365, "y"), (hour * 24 * 30, "mo"), (hour * 24, "d"),
                         (hour, "h"), (60 * _NS, "m"), (_NS, "s")):
        if u > size:
            return f"{u // size}{suffix}"
    return "0s"


def _date_modify(fmt: str, t: GoTime) -> GoTime:
    try:
        return t.add(parse_duration(fmt))
    except GoError:
        return t


def _must_date_modify(fmt: str, t: GoTime) -> GoTime:
    return t.add(parse_duration(fmt))


def zero_time() -> GoTime:
    return GoTime(_ZERO_UNIX, 0, UTC)


def _to_date(fmt: str, s: str) -> GoTime:
    try:
        return parse_time(fmt, s, local(), local())
    except GoError:
        return zero_time()


_TIME = "time.Time"

FUNCS: dict[str, Func] = {
    "date": Func(lambda fmt, d: _date_in_zone(fmt, d, "Local"), (STRING, ANY), result=STRING),
    "dateInZone": Func(_date_in_zone, (STRING, ANY, STRING), result=STRING),
    "date_in_zone": Func(_date_in_zone, (STRING, ANY, STRING), result=STRING),
    "htmlDate": Func(lambda d: _date_in_zone("2006-01-02", d, "Local"), (ANY,), result=STRING),
    "htmlDateInZone": Func(lambda d, z: _date_in_zone("2006-01-02", d, z), (ANY, STRING),
                           result=STRING),
    "toDate": Func(_to_date, (STRING, STRING), result=_TIME),
    "mustToDate": Func(lambda fmt, s: parse_time(fmt, s, local(), local()), (STRING, STRING),
                       result=_TIME, errors=True),
    "unixEpoch": Func(lambda t: str(t.unix()), (_TIME,), result=STRING),
    "duration": Func(_duration, (ANY,), result=STRING),
    "durationRound": Func(_duration_round, (ANY,), result=STRING),
    "dateModify": Func(_date_modify, (STRING, _TIME), result=_TIME),
    "date_modify": Func(_date_modify, (STRING, _TIME), result=_TIME),
    "mustDateModify": Func(_must_date_modify, (STRING, _TIME), result=_TIME, errors=True),
    "must_date_modify": Func(_must_date_modify, (STRING, _TIME), result=_TIME, errors=True),
    "now": Func(now, result=_TIME),
}

