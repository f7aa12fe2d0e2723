"""sprig's conversions: atoi int int64 float64 (toString is with the string functions).

``atoi`` is strconv.Atoi with the error dropped (0 for a string that is not a decimal
integer, the clamped value for one out of range); the others are spf13/cast's.
"""

from __future__ import annotations

from dockwright.gotemplate.sprig._convert import to_float64, to_int, to_int64
from dockwright.gotemplate.strconv import atoi
from dockwright.gotemplate.values import ANY, FLOAT64, INT, INT64, STRING, Func

FUNCS: dict[str, Func] = {
    "atoi": Func(atoi, (STRING,), result=INT),
    "int": Func(to_int, (ANY,), result=INT),
    "int64": Func(to_int64, (ANY,), result=INT64),
    "float64": Func(to_float64, (ANY,), result=FLOAT64),
}
