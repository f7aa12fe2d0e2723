"""sprig's data functions (numeric, conversion, encoding, regex, paths, semver, urls, crypto,
dates) against the results of Go 1.19's text/template with sprig v3.2.3.

Every expected value below was printed by a Go program running the same call through
``sprig.TxtFuncMap()`` (a ``show`` function printing the type and value of the result);
errors are the text after "error calling NAME: ". Floats are compared by their bits
(``float.hex``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from dockwright.gotemplate.sprig import (
    conversion,
    crypto,
    dates,
    encoding,
    numeric,
    paths,
    regex,
    semver,
    urls,
)
from dockwright.gotemplate.strconv import go_quote
from dockwright.gotemplate.values import (
    Float32,
    GoError,
    GoMap,
    GoObject,
    GoSlice,
    Int32,
    Int64,
    Uint8,
    Uint32,
    Uint64,
    convert,
    from_go_bytes,
    type_of,
)

T = dates.make_time(2021, 3, 4, 5, 6, 7, 891234567, dates.UTC)
TP = dates.GoTime(T.sec, T.nsec, dates.UTC, pointer=True)
TZ = dates.make_time(2021, 3, 4, 5, 6, 7, 0, dates.FixedZone("XYZ", 12600))
BAD = from_go_bytes(b"a\xffb\xe2\x82c")
U2028 = "x\u2028y\u2029z"

FUNCS = {**numeric.FUNCS, **conversion.FUNCS, **encoding.FUNCS, **regex.FUNCS, **paths.FUNCS,
         **semver.FUNCS, **urls.FUNCS, **crypto.FUNCS, **dates.FUNCS}


@pytest.fixture(autouse=True)
def _local_zone(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Go results were made with TZ=America/New_York."""
    monkeypatch.setenv("TZ", "America/New_York")
    dates.local.cache_clear()
    yield
    dates.local.cache_clear()


def canon(v: Any) -> str:
    """The value as the Go side's ``show`` prints it."""
    if v is None:
        return "nil"
    t = type_of(v)
    if t == "string":
        return "s:" + go_quote(v, ascii_only=True)
    if t == "bool":
        return "bool:" + ("true" if v else "false")
    if isinstance(v, bool | int) and not isinstance(v, GoObject):
        return f"{t}:{int(v)}"
    if isinstance(v, float):
        return f"{t}:{float(v).hex()}"
    if isinstance(v, list):
        return t + "[" + ", ".join(canon(x) for x in v) + "]"
    if isinstance(v, dict):
        return t + "{" + ", ".join(sorted(canon(k) + ": " + canon(x) for k, x in v.items())) + "}"
    assert isinstance(v, GoObject)
    return t + "|" + go_quote(v.go_string() or "", ascii_only=True)


def call(name: str, args: tuple[Any, ...]) -> Any:
    """FUNCS[name](*args); "f.Method" calls the method (without arguments) of f's result."""
    name, _, method = name.partition(".")
    func = FUNCS[name]
    result = convert(func.fn(*args), func.result)
    if method:
        func = result.go_methods()[method]
        result = convert(func.fn(), func.result)
    return result


@pytest.mark.parametrize(("name", "args", "expected", "error"), [
    # numeric
    ('add1', (1,), 'int64:2', None),
    ('add1', (Int64(42),), 'int64:43', None),
    ('add1', ('0x10',), 'int64:17', None),
    ('add1', ('1.0',), 'int64:2', None),
    ('add1', ('1.5',), 'int64:1', None),
    ('add1', (2.9,), 'int64:3', None),
    ('add1', (-2.9,), 'int64:-1', None),
    ('add1', (None,), 'int64:1', None),
    ('add1', (True,), 'int64:2', None),
    ('add1', ('abc',), 'int64:1', None),
    ('add1', (Uint64(18446744073709551615),), 'int64:0', None),
    ('add1', (Int64(9223372036854775807),), 'int64:-9223372036854775808', None),
    ('add1', (Uint8(200),), 'int64:201', None),
    ('add1', (Int32(-7),), 'int64:-6', None),
    ('add1', (Float32(1.5),), 'int64:2', None),
    ('add1', ('010',), 'int64:9', None),
    ('add1', ('0o10',), 'int64:9', None),
    ('add1', ('0b11',), 'int64:4', None),
    ('add1', ('1_000',), 'int64:1001', None),
    ('add1', ('1__0',), 'int64:1', None),
    ('add1', ('+5',), 'int64:6', None),
    ('add1', (' 5',), 'int64:1', None),
    ('add1', ('99999999999999999999',), 'int64:1', None),
    ('add1', (1e19,), 'int64:-9223372036854775807', None),
    ('add1', ([1],), 'int64:1', None),
    ('add1', (GoSlice([Uint8(104), Uint8(105)], '[]uint8'),), 'int64:1', None),
    ('add', (), 'int64:0', None),
    ('add', (1, 2, 3,), 'int64:6', None),
    ('add', (1, '2', 3.7, True, None,), 'int64:7', None),
    ('sub', (10, 3,), 'int64:7', None),
    ('sub', ('3', 10,), 'int64:-7', None),
    ('sub', (-9223372036854775807, 5,), 'int64:9223372036854775804', None),
    ('div', (7, 2,), 'int64:3', None),
    ('div', (-7, 2,), 'int64:-3', None),
    ('div', (7, -2,), 'int64:-3', None),
    ('div', (1, 0,), None, 'runtime error: integer divide by zero'),
    ('div', (1, 'x',), None, 'runtime error: integer divide by zero'),
    ('div', (-9223372036854775808, -1,), 'int64:-9223372036854775808', None),
    ('mod', (7, 3,), 'int64:1', None),
    ('mod', (-7, 3,), 'int64:-1', None),
    ('mod', (7, -3,), 'int64:1', None),
    ('mod', (5, 0,), None, 'runtime error: integer divide by zero'),
    ('mul', (3,), 'int64:3', None),
    ('mul', (3, 4, 5,), 'int64:60', None),
    ('mul', (4294967296, 4294967296,), 'int64:0', None),
    ('mul', ('2', 2.5,), 'int64:4', None),
    ('max', (1, 5, 3,), 'int64:5', None),
    ('biggest', ('7', 3,), 'int64:7', None),
    ('min', (1, -5, 3,), 'int64:-5', None),
    ('min', (4,), 'int64:4', None),
    ('max', (1, 'x',), 'int64:1', None),
    ('maxf', (1, 2.5, '3.5',), 'float64:0x1.c000000000000p+1', None),
    ('minf', (1, 2.5, -0.5,), 'float64:-0x1.0000000000000p-1', None),
    ('maxf', (0.0, -0.0,), 'float64:0x0.0p+0', None),
    ('minf', (0.0, -0.0,), 'float64:-0x0.0p+0', None),
    ('maxf', ('NaN', 1,), 'float64:nan', None),
    ('minf', ('-Inf', 'NaN',), 'float64:-inf', None),
    ('maxf', ('inf', 'NaN',), 'float64:inf', None),
    ('ceil', (1.2,), 'float64:0x1.0000000000000p+1', None),
    ('ceil', (-1.2,), 'float64:-0x1.0000000000000p+0', None),
    ('ceil', (-0.5,), 'float64:-0x0.0p+0', None),
    ('ceil', ('3',), 'float64:0x1.8000000000000p+1', None),
    ('floor', (-1.2,), 'float64:-0x1.0000000000000p+1', None),
    ('floor', (0.5,), 'float64:0x0.0p+0', None),
    ('floor', ('x',), 'float64:0x0.0p+0', None),
    ('floor', ('1e3',), 'float64:0x1.f400000000000p+9', None),
    ('round', (3.14159, 2,), 'float64:0x1.91eb851eb851fp+1', None),
    ('round', (2.5, 0,), 'float64:0x1.8000000000000p+1', None),
    ('round', (-2.5, 0,), 'float64:-0x1.8000000000000p+1', None),
    ('round', (1.2345, 3, 0.4,), 'float64:0x1.3c28f5c28f5c3p+0', None),
    ('round', (123.456, -1,), 'float64:0x1.e000000000000p+6', None),
    ('round', ('1.005', 2,), 'float64:0x1.0000000000000p+0', None),
    ('round', (1e300, 10,), 'float64:inf', None),
    ('round', (0.285, 2,), 'float64:0x1.1eb851eb851ecp-2', None),
    ('round', (1.15, 1,), 'float64:0x1.3333333333333p+0', None),
    ('round', (5.5555, 30,), 'float64:0x1.638d4fdf3b646p+2', None),
    ('add1f', (1.1,), 'float64:0x1.0cccccccccccdp+1', None),
    ('add1f', ('x',), 'float64:0x1.0000000000000p+0', None),
    ('addf', (), 'float64:0x0.0p+0', None),
    ('addf', (0.1, 0.2,), 'float64:0x1.3333333333333p-2', None),
    ('addf', (1.1, 2.2, 3.3,), 'float64:0x1.a666666666666p+2', None),
    ('subf', (1.0, 0.9,), 'float64:0x1.999999999999ap-4', None),
    ('subf', (5,), 'float64:0x1.4000000000000p+2', None),
    ('mulf', (1.1, 3,), 'float64:0x1.a666666666666p+1', None),
    ('mulf', (0.1, 0.1, 0.1,), 'float64:0x1.0624dd2f1a9fcp-10', None),
    ('divf', (1, 3,), 'float64:0x1.5555555555555p-2', None),
    ('divf', (2, 3,), 'float64:0x1.5555555555556p-1', None),
    ('divf', (-2, 3,), 'float64:-0x1.5555555555556p-1', None),
    ('divf', (10, 4,), 'float64:0x1.4000000000000p+1', None),
    ('divf', (1, 0,), None, 'decimal division by 0'),
    ('divf', (1e-20, 3,), 'float64:0x0.0p+0', None),
    ('divf', (1, 3, 3,), 'float64:0x1.c71c71c71c71cp-4', None),
    ('addf', (1e308, 1e308,), 'float64:inf', None),
    ('addf', ('NaN',), None, 'Cannot create a Decimal from NaN'),
    ('mulf', (Float32(1.5), 1.1,), 'float64:0x1.a666666666666p+0', None),
    ('until', (5,), '[]int[int:0, int:1, int:2, int:3, int:4]', None),
    ('until', (-3,), '[]int[int:0, int:-1, int:-2]', None),
    ('until', (0,), '[]int[]', None),
    ('untilStep', (0, 10, 3,), '[]int[int:0, int:3, int:6, int:9]', None),
    ('untilStep', (10, 0, -4,), '[]int[int:10, int:6, int:2]', None),
    ('untilStep', (0, 10, 0,), '[]int[]', None),
    ('untilStep', (10, 0, 2,), '[]int[]', None),
    ('untilStep', (3, 3, 1,), '[]int[]', None),
    ('seq', (), 's:""', None),
    ('seq', (5,), 's:"1 2 3 4 5"', None),
    ('seq', (0,), 's:"1 0"', None),
    ('seq', (-3,), 's:"1 0 -1 -2 -3"', None),
    ('seq', (2, 5,), 's:"2 3 4 5"', None),
    ('seq', (5, 2,), 's:"5 4 3 2"', None),
    ('seq', (1, 2, 10,), 's:"1 3 5 7 9"', None),
    ('seq', (10, -3, 1,), 's:"10 7 4 1"', None),
    ('seq', (10, 3, 1,), 's:""', None),
    ('seq', (1, 0, 3,), 's:""', None),
    ('seq', (1, 2, 3, 4,), 's:""', None),
    ('toDecimal', ('0777',), 'int64:511', None),
    ('toDecimal', ('777',), 'int64:511', None),
    ('toDecimal', (777,), 'int64:511', None),
    ('toDecimal', ('8',), 'int64:0', None),
    ('toDecimal', (8.0,), 'int64:0', None),
    ('toDecimal', (1e7,), 'int64:0', None),
    ('toDecimal', (True,), 'int64:0', None),
    ('toDecimal', ('-17',), 'int64:-15', None),
    ('toDecimal', (None,), 'int64:0', None),
    ('toDecimal', ('1_0',), 'int64:0', None),
    ('toDecimal', (Uint8(200),), 'int64:128', None),
    # conversion
    ('atoi', ('42',), 'int:42', None),
    ('atoi', ('-42',), 'int:-42', None),
    ('atoi', ('+7',), 'int:7', None),
    ('atoi', ('0x10',), 'int:0', None),
    ('atoi', ('1.0',), 'int:0', None),
    ('atoi', ('',), 'int:0', None),
    ('atoi', ('99999999999999999999',), 'int:9223372036854775807', None),
    ('atoi', ('-99999999999999999999',), 'int:-9223372036854775808', None),
    ('atoi', ('1_000',), 'int:0', None),
    ('atoi', ('007',), 'int:7', None),
    ('int', ('0x1F',), 'int:31', None),
    ('int', ('1.0',), 'int:1', None),
    ('int', ('1.50',), 'int:0', None),
    ('int', (3.99,), 'int:3', None),
    ('int', (-3.99,), 'int:-3', None),
    ('int', (True,), 'int:1', None),
    ('int', (None,), 'int:0', None),
    ('int', ('true',), 'int:0', None),
    ('int', ('0X1f',), 'int:31', None),
    ('int', ('-0b101',), 'int:-5', None),
    ('int', ('0.0',), 'int:0', None),
    ('int', ('.0',), 'int:0', None),
    ('int', ('1.',), 'int:0', None),
    ('int', ('10.00',), 'int:10', None),
    ('int', ('1.0.0',), 'int:0', None),
    ('int', ({'a': 1},), 'int:0', None),
    ('int', (GoError('x'),), 'int:0', None),
    ('int64', ('9223372036854775807',), 'int64:9223372036854775807', None),
    ('int64', ('9223372036854775808',), 'int64:0', None),
    ('int64', (1e30,), 'int64:-9223372036854775808', None),
    ('int64', (Uint64(18446744073709551615),), 'int64:-1', None),
    ('int64', (Float32(1.5),), 'int64:1', None),
    ('int64', ('-0x8000000000000000',), 'int64:-9223372036854775808', None),
    ('int64', ('0_1',), 'int64:1', None),
    ('int64', ('0x_1F',), 'int64:31', None),
    ('int64', ('_1',), 'int64:0', None),
    ('float64', ('1.5',), 'float64:0x1.8000000000000p+0', None),
    ('float64', ('1e3',), 'float64:0x1.f400000000000p+9', None),
    ('float64', ('.5',), 'float64:0x1.0000000000000p-1', None),
    ('float64', ('5.',), 'float64:0x1.4000000000000p+2', None),
    ('float64', ('0x1p-2',), 'float64:0x1.0000000000000p-2', None),
    ('float64', ('0x1.8',), 'float64:0x0.0p+0', None),
    ('float64', ('inf',), 'float64:inf', None),
    ('float64', ('-Infinity',), 'float64:-inf', None),
    ('float64', ('+nan',), 'float64:0x0.0p+0', None),
    ('float64', ('NaN',), 'float64:nan', None),
    ('float64', ('infin',), 'float64:0x0.0p+0', None),
    ('float64', ('1e400',), 'float64:0x0.0p+0', None),
    ('float64', ('1e-400',), 'float64:0x0.0p+0', None),
    ('float64', ('1_000.000_1',), 'float64:0x1.f4000346dc5d6p+9', None),
    ('float64', ('1__0',), 'float64:0x0.0p+0', None),
    ('float64', (' 1',), 'float64:0x0.0p+0', None),
    ('float64', ('0x',), 'float64:0x0.0p+0', None),
    ('float64', ('1e',), 'float64:0x0.0p+0', None),
    ('float64', ('abc',), 'float64:0x0.0p+0', None),
    ('float64', (7,), 'float64:0x1.c000000000000p+2', None),
    ('float64', (Int64(42),), 'float64:0x1.5000000000000p+5', None),
    ('float64', (Uint64(18446744073709551615),), 'float64:0x1.0000000000000p+64', None),
    ('float64', (Float32(1.5),), 'float64:0x1.8000000000000p+0', None),
    ('float64', (True,), 'float64:0x1.0000000000000p+0', None),
    ('float64', (None,), 'float64:0x0.0p+0', None),
    ('float64', ([1],), 'float64:0x0.0p+0', None),
    ('float64', ('0.1',), 'float64:0x1.999999999999ap-4', None),
    ('float64', ('123456789012345678901234567890',), 'float64:0x1.8ee90ff6c373ep+96', None),
    # encoding
    ('b64enc', ('',), 's:""', None),
    ('b64enc', ('a',), 's:"YQ=="', None),
    ('b64enc', ('ab',), 's:"YWI="', None),
    ('b64enc', ('abc',), 's:"YWJj"', None),
    ('b64enc', ('h\u00e9llo w\u00f6rld',), 's:"aMOpbGxvIHfDtnJsZA=="', None),
    ('b64enc', (BAD,), 's:"Yf9i4oJj"', None),
    ('b64dec', ('aGVsbG8=',), 's:"hello"', None),
    ('b64dec', ('aGVsbG8',), 's:"illegal base64 data at input byte 4"', None),
    ('b64dec', ('aGVsbA==',), 's:"hell"', None),
    ('b64dec', ('aGVsbA=',), 's:"illegal base64 data at input byte 7"', None),
    ('b64dec', ('aGV\nsbG8=',), 's:"hello"', None),
    ('b64dec', ('a',), 's:"illegal base64 data at input byte 0"', None),
    ('b64dec', ('!!!!',), 's:"illegal base64 data at input byte 0"', None),
    ('b64dec', ('',), 's:""', None),
    ('b64dec', ('aGVsbG8=x',), 's:"illegal base64 data at input byte 8"', None),
    ('b64dec', ('aGVsbG8=\n',), 's:"hello"', None),
    ('b64dec', ('aG=sbG8=',), 's:"illegal base64 data at input byte 2"', None),
    ('b64dec', ('/w==',), 's:"\\xff"', None),
    ('b64dec', ('aGVsbA==aGVs',), 's:"illegal base64 data at input byte 8"', None),
    ('b64dec', ('aGVsbG8hIQ==',), 's:"hello!!"', None),
    ('b64dec', ('aGVsbA=\n=',), 's:"hell"', None),
    ('b64dec', ('aGVsbA=x',), 's:"illegal base64 data at input byte 6"', None),
    ('b32enc', ('',), 's:""', None),
    ('b32enc', ('a',), 's:"ME======"', None),
    ('b32enc', ('hello',), 's:"NBSWY3DP"', None),
    ('b32enc', ('hello world',), 's:"NBSWY3DPEB3W64TMMQ======"', None),
    ('b32dec', ('NBSWY3DP',), 's:"hello"', None),
    ('b32dec', ('MFRGG===',), 's:"abc"', None),
    ('b32dec', ('MFRGG',), 's:"illegal base32 data at input byte 0"', None),
    ('b32dec', ('MY======',), 's:"f"', None),
    ('b32dec', ('MY=====' ,), 's:"illegal base32 data at input byte 7"', None),
    ('b32dec', ('M=======',), 's:"illegal base32 data at input byte 1"', None),
    ('b32dec', ('MFRGGZA=',), 's:"abcd"', None),
    ('b32dec', ('nbswy3dp',), 's:"illegal base32 data at input byte 0"', None),
    ('b32dec', ('NBSW\nY3DP',), 's:"hello"', None),
    ('b32dec', ('MY======MY======',), 's:"illegal base32 data at input byte 2"', None),
    ('b32dec', ('MFR=====',), 's:"illegal base32 data at input byte 3"', None),
    ('b32dec', ('MY====',), 's:"illegal base32 data at input byte 6"', None),
    ('b32dec', ('MY=====A',), 's:"illegal base32 data at input byte 6"', None),
    (
        'toJson', ({'a': 1, 'b': [1, 2.5, None, True, 'x<y>&z']},),
        's:"{\\"a\\":1,\\"b\\":[1,2.5,null,true,\\"x\\\\u003cy\\\\u003e\\\\u0026z\\"]}"',
        None,
    ),
    ('toJson', ('NaN-free',), 's:"\\"NaN-free\\""', None),
    ('toJson', (math.nan,), 's:""', None),
    ('mustToJson', (math.nan,), None, 'json: unsupported value: NaN'),
    ('mustToJson', (math.inf,), None, 'json: unsupported value: +Inf'),
    ('toJson', (GoMap({'a': 1}, 'map[interface {}]interface {}'),), 's:""', None),
    (
        'mustToJson', (GoMap({'a': 1}, 'map[interface {}]interface {}'),),
        None,
        'json: unsupported type: map[interface {}]interface {}',
    ),
    (
        'toPrettyJson', ({'b': 1, 'a': [1, {'c': []}], 'd': {}},),
        's:"{\\n  \\"a\\": [\\n    1,\\n    {\\n      \\"c\\": []\\n    }\\n  ],\\n  \\"b\\": 1'
        ',\\n  \\"d\\": {}\\n}"',
        None,
    ),
    ('toPrettyJson', (math.nan,), 's:""', None),
    ('mustToPrettyJson', (math.inf,), None, 'json: unsupported value: +Inf'),
    ('toPrettyJson', (None,), 's:"null"', None),
    ('toPrettyJson', ([],), 's:"[]"', None),
    (
        'toRawJson', ({'h': '<a href="x">&amp;</a>'},),
        's:"{\\"h\\":\\"<a href=\\\\\\"x\\\\\\">&amp;</a>\\"}"',
        None,
    ),
    ('toRawJson', (math.nan,), None, 'json: unsupported value: NaN'),
    ('mustToRawJson', (math.nan,), None, 'json: unsupported value: NaN'),
    ('toRawJson', (U2028,), 's:"\\"x\\\\u2028y\\\\u2029z\\""', None),
    (
        'fromJson', ('{"a": [1, "x", null, true, {"b": 2.5e3}]}',),
        'map[string]interface {}{s:"a": []interface {}[float64:0x1.0000000000000p+0, s:"x", nil'
        ', bool:true, map[string]interface {}{s:"b": float64:0x1.3880000000000p+11}]}',
        None,
    ),
    ('fromJson', ('oops',), 'nil', None),
    (
        'fromJson', ('[1, 1e400, 3]',),
        '[]interface {}[float64:0x1.0000000000000p+0, nil, float64:0x1.8000000000000p+1]',
        None,
    ),
    (
        'mustFromJson', ('[1, 1e400, 3]',),
        None,
        'json: cannot unmarshal number 1e400 into Go value of type float64',
    ),
    ('mustFromJson', ('{',), None, 'unexpected end of JSON input'),
    ('mustFromJson', ('',), None, 'unexpected end of JSON input'),
    ('mustFromJson', ('[1,]',), None, "invalid character ']' looking for beginning of value"),
    ('mustFromJson', ('"\\ud83d\\ude00"',), 's:"\\U0001f600"', None),
    ('fromJson', ('"x" y',), 'nil', None),
    ('mustFromJson', ('  42  ',), 'float64:0x1.5000000000000p+5', None),
    # regex
    ('regexMatch', ('^abc$', 'abc',), 'bool:true', None),
    ('regexMatch', ('^abc$', 'abc\n',), 'bool:false', None),
    ('regexMatch', ('abc$', 'abc\n',), 'bool:false', None),
    ('regexMatch', ('(?m)abc$', 'abc\nx',), 'bool:true', None),
    ('regexMatch', ('a.c', 'a\nc',), 'bool:false', None),
    ('regexMatch', ('(?s)a.c', 'a\nc',), 'bool:true', None),
    ('regexMatch', ('\\Aab', 'xab',), 'bool:false', None),
    ('regexMatch', ('ab\\z', 'ab',), 'bool:true', None),
    ('regexMatch', ('(', 'x',), 'bool:false', None),
    ('mustRegexMatch', ('(', 'x',), None, 'error parsing regexp: missing closing ): `(`'),
    ('mustRegexMatch', ('[a-', 'x',), None, 'error parsing regexp: missing closing ]: `[a-`'),
    ('regexMatch', ('(?i)h\u00e9llo', 'H\u00c9LLO',), 'bool:true', None),
    ('regexMatch', ('\\bfoo\\b', 'a foo b',), 'bool:true', None),
    ('regexMatch', ('\\bfoo\\b', 'afoob',), 'bool:false', None),
    ('regexMatch', ('\\Bo\\B', 'foo',), 'bool:true', None),
    ('regexMatch', ('\\B', '',), 'bool:true', None),
    ('regexMatch', ('\u00e9\\b', '\u00e9',), 'bool:false', None),
    ('regexMatch', ('\\w+', '\u00e9',), 'bool:false', None),
    ('regexMatch', ('\\d', '\u0663',), 'bool:false', None),
    ('regexMatch', ('\\s', '\xa0',), 'bool:false', None),
    ('regexMatch', ('[[:alpha:]]', '\u00e9',), 'bool:false', None),
    ('regexMatch', ('\\pL', '\u00e9',), 'bool:true', None),
    ('regexMatch', ('\\p{Greek}', '\u03b1',), 'bool:true', None),
    ('regexMatch', ('\\p{Lu}', 'a',), 'bool:false', None),
    ('regexMatch', ('(?i)\\p{Lu}', 'a',), 'bool:true', None),
    ('regexMatch', ('\\PL', 'a',), 'bool:false', None),
    ('regexMatch', ('\\p{^L}', '1',), 'bool:true', None),
    ('regexMatch', ('[^a]', '\n',), 'bool:true', None),
    ('regexMatch', ('x*', '',), 'bool:true', None),
    ('regexMatch', ('', 'abc',), 'bool:true', None),
    ('regexMatch', ('\\x41\\x{42}\\103', 'ABC',), 'bool:true', None),
    ('regexMatch', ('\\Q.*\\E+', '.*.*',), 'bool:true', None),
    ('regexMatch', ('(?i)k', '\u212a',), 'bool:true', None),
    ('regexMatch', ('(?i)[k]', '\u212a',), 'bool:true', None),
    ('regexMatch', ('(?i)[^k]', 'K',), 'bool:false', None),
    ('regexMatch', ('(?i)\\W', '\u212a',), 'bool:false', None),
    ('regexMatch', ('[\\d\\-z]', '-',), 'bool:true', None),
    ('regexMatch', ('a{,2}', 'a{,2}',), 'bool:true', None),
    ('regexMatch', ('a{2', 'a{2',), 'bool:true', None),
    ('regexMatch', ('x{2}{3}', 'xxxxxx',), 'bool:false', None),
    (
        'mustRegexMatch', ('a**', '',),
        None,
        'error parsing regexp: invalid nested repetition operator: `**`',
    ),
    (
        'mustRegexMatch', ('a*+', '',),
        None,
        'error parsing regexp: invalid nested repetition operator: `*+`',
    ),
    (
        'mustRegexMatch', ('a*??', '',),
        None,
        'error parsing regexp: invalid nested repetition operator: `*??`',
    ),
    (
        'mustRegexMatch', ('(*)', '',),
        None,
        'error parsing regexp: missing argument to repetition operator: `*`',
    ),
    (
        'mustRegexMatch', ('|*', '',),
        None,
        'error parsing regexp: missing argument to repetition operator: `*`',
    ),
    (
        'mustRegexMatch', ('*', '',),
        None,
        'error parsing regexp: missing argument to repetition operator: `*`',
    ),
    (
        'mustRegexMatch', ('a|*', '',),
        None,
        'error parsing regexp: missing argument to repetition operator: `*`',
    ),
    (
        'mustRegexMatch', ('(?i)*', '',),
        None,
        'error parsing regexp: missing argument to repetition operator: `*`',
    ),
    ('mustRegexMatch', ('a(?i)*', 'aa',), 'bool:true', None),
    ('mustRegexMatch', ('^*', '',), 'bool:true', None),
    (
        'mustRegexMatch', ('a{1001}', '',),
        None,
        'error parsing regexp: invalid repeat count: `{1001}`',
    ),
    (
        'mustRegexMatch', ('a{2,1}', '',),
        None,
        'error parsing regexp: invalid repeat count: `{2,1}`',
    ),
    (
        'mustRegexMatch', ('(a{2}){501}', '',),
        None,
        'error parsing regexp: invalid repeat count: `{501}`',
    ),
    (
        'mustRegexMatch', ('((a{10}){10}){11}', '',),
        None,
        'error parsing regexp: invalid repeat count: `{11}`',
    ),
    (
        'mustRegexMatch', ('a{100000000}', '',),
        None,
        'error parsing regexp: invalid repeat count: `{100000000}`',
    ),
    ('mustRegexMatch', ('x{1000}', 'x',), 'bool:false', None),
    ('mustRegexMatch', (')', '',), None, 'error parsing regexp: unexpected ): `)`'),
    ('mustRegexMatch', ('(a', '',), None, 'error parsing regexp: missing closing ): `(a`'),
    ('mustRegexMatch', ('a)', '',), None, 'error parsing regexp: unexpected ): `a)`'),
    ('mustRegexMatch', ('[a', '',), None, 'error parsing regexp: missing closing ]: `[a`'),
    ('mustRegexMatch', ('[]', '',), None, 'error parsing regexp: missing closing ]: `[]`'),
    ('mustRegexMatch', ('[]a]', ']',), 'bool:true', None),
    ('mustRegexMatch', ('[^]a]', 'b',), 'bool:true', None),
    (
        'mustRegexMatch', ('[z-a]', '',),
        None,
        'error parsing regexp: invalid character class range: `z-a`',
    ),
    (
        'mustRegexMatch', ('[a-\\d]', '',),
        None,
        'error parsing regexp: invalid escape sequence: `\\d`',
    ),
    (
        'mustRegexMatch', ('[[:foo:]]', '',),
        None,
        'error parsing regexp: invalid character class range: `[:foo:]`',
    ),
    (
        'mustRegexMatch', ('[[:alpha:]', '',),
        None,
        'error parsing regexp: missing closing ]: `[[:alpha:]`',
    ),
    ('mustRegexMatch', ('[[:^digit:]]', 'a',), 'bool:true', None),
    (
        'mustRegexMatch', ('\\p{Foo}', '',),
        None,
        'error parsing regexp: invalid character class range: `\\p{Foo}`',
    ),
    (
        'mustRegexMatch', ('\\p{Greek', '',),
        None,
        'error parsing regexp: invalid character class range: `\\p{Greek`',
    ),
    (
        'mustRegexMatch', ('\\p', '',),
        None,
        'error parsing regexp: invalid character class range: `\\p`',
    ),
    (
        'mustRegexMatch', ('\\pX', '',),
        None,
        'error parsing regexp: invalid character class range: `\\pX`',
    ),
    (
        'mustRegexMatch', ('\\p{Cn}', '',),
        None,
        'error parsing regexp: invalid character class range: `\\p{Cn}`',
    ),
    (
        'mustRegexMatch', ('\\', '',),
        None,
        'error parsing regexp: trailing backslash at end of expression: ``',
    ),
    (
        'mustRegexMatch', ('a\\', '',),
        None,
        'error parsing regexp: trailing backslash at end of expression: ``',
    ),
    ('mustRegexMatch', ('\\1', '',), None, 'error parsing regexp: invalid escape sequence: `\\1`'),
    ('mustRegexMatch', ('\\8', '',), None, 'error parsing regexp: invalid escape sequence: `\\8`'),
    ('mustRegexMatch', ('\\q', '',), None, 'error parsing regexp: invalid escape sequence: `\\q`'),
    ('mustRegexMatch', ('\\_', '_',), 'bool:true', None),
    ('mustRegexMatch', ('\\C', '',), None, 'error parsing regexp: invalid escape sequence: `\\C`'),
    ('mustRegexMatch', ('\\x', '',), None, 'error parsing regexp: invalid escape sequence: `\\x`'),
    (
        'mustRegexMatch', ('\\xZ1', '',),
        None,
        'error parsing regexp: invalid escape sequence: `\\xZ1`',
    ),
    (
        'mustRegexMatch', ('\\x{', '',),
        None,
        'error parsing regexp: invalid escape sequence: `\\x{`',
    ),
    (
        'mustRegexMatch', ('\\x{zz}', '',),
        None,
        'error parsing regexp: invalid escape sequence: `\\x{z`',
    ),
    (
        'mustRegexMatch', ('\\x{}', '',),
        None,
        'error parsing regexp: invalid escape sequence: `\\x{}`',
    ),
    (
        'mustRegexMatch', ('\\x{110000}', '',),
        None,
        'error parsing regexp: invalid escape sequence: `\\x{110000`',
    ),
    ('mustRegexMatch', ('\\Z', '',), None, 'error parsing regexp: invalid escape sequence: `\\Z`'),
    (
        'mustRegexMatch', ('(?=a)', '',),
        None,
        'error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    ),
    (
        'mustRegexMatch', ('(?<n>a)', '',),
        None,
        'error parsing regexp: invalid or unsupported Perl syntax: `(?<`',
    ),
    ('mustRegexMatch', ('(?P<n>a)', 'a',), 'bool:true', None),
    (
        'mustRegexMatch', ('(?P<n', '',),
        None,
        'error parsing regexp: invalid named capture: `(?P<n`',
    ),
    (
        'mustRegexMatch', ('(?P<>a)', '',),
        None,
        'error parsing regexp: invalid named capture: `(?P<>`',
    ),
    (
        'mustRegexMatch', ('(?P<a-b>x)', '',),
        None,
        'error parsing regexp: invalid named capture: `(?P<a-b>`',
    ),
    (
        'mustRegexMatch', ('(?P=n)', '',),
        None,
        'error parsing regexp: invalid or unsupported Perl syntax: `(?P`',
    ),
    (
        'mustRegexMatch', ('(?', '',),
        None,
        'error parsing regexp: invalid or unsupported Perl syntax: `(?`',
    ),
    (
        'mustRegexMatch', ('(?x)', '',),
        None,
        'error parsing regexp: invalid or unsupported Perl syntax: `(?x`',
    ),
    (
        'mustRegexMatch', ('(?i-)', '',),
        None,
        'error parsing regexp: invalid or unsupported Perl syntax: `(?i-)`',
    ),
    (
        'mustRegexMatch', ('(?-)', '',),
        None,
        'error parsing regexp: invalid or unsupported Perl syntax: `(?-)`',
    ),
    ('mustRegexMatch', ('(?i-s:a.)', 'A\n',), 'bool:false', None),
    (
        'mustRegexMatch', ('(?--i)', '',),
        None,
        'error parsing regexp: invalid or unsupported Perl syntax: `(?--`',
    ),
    ('mustRegexMatch', ('(?i)(?-i)A', 'a',), 'bool:false', None),
    ('mustRegexMatch', ('(?U)a+', 'aaa',), 'bool:true', None),
    ('mustRegexMatch', ('\\12', '\n',), 'bool:true', None),
    ('mustRegexMatch', ('\\0', '\x00',), 'bool:true', None),
    ('mustRegexMatch', ('[\\0-\\x{7f}]', '~',), 'bool:true', None),
    ('mustRegexMatch', ('\\a\\f\\t\\n\\r\\v', '\x07\x0c\t\n\r\x0b',), 'bool:true', None),
    ('mustRegexMatch', ('a\\.b', 'a.b',), 'bool:true', None),
    ('regexFindAll', ('a', 'banana', -1,), '[]string[s:"a", s:"a", s:"a"]', None),
    ('regexFindAll', ('a', 'banana', 2,), '[]string[s:"a", s:"a"]', None),
    ('regexFindAll', ('a', 'banana', 0,), '[]string[]', None),
    ('regexFindAll', ('x*', 'abc', -1,), '[]string[s:"", s:"", s:"", s:""]', None),
    ('regexFindAll', ('a*', 'baaac', -1,), '[]string[s:"", s:"aaa", s:""]', None),
    ('regexFindAll', ('(?U)a+', 'aaa', -1,), '[]string[s:"a", s:"a", s:"a"]', None),
    ('regexFindAll', ('(?U)a+?', 'aaa', -1,), '[]string[s:"aaa"]', None),
    ('regexFindAll', ('a|ab', 'ab', -1,), '[]string[s:"a"]', None),
    ('regexFindAll', ('ab|a', 'ab', -1,), '[]string[s:"ab"]', None),
    ('regexFindAll', ('\\b', 'a b', -1,), '[]string[s:"", s:"", s:"", s:""]', None),
    ('regexFindAll', ('(?m)^\\w', 'ab\ncd\n', -1,), '[]string[s:"a", s:"c"]', None),
    ('regexFindAll', ('(?m)$', 'a\nb', -1,), '[]string[s:"", s:""]', None),
    ('regexFindAll', ('$', 'a\nb\n', -1,), '[]string[s:""]', None),
    ('regexFindAll', ('^', 'ab', -1,), '[]string[s:""]', None),
    (
        'regexFindAll', ('.', 'a\u00e9\u4e16', -1,),
        '[]string[s:"a", s:"\\u00e9", s:"\\u4e16"]',
        None,
    ),
    ('regexFindAll', ('[a-c]+', 'xabcyacbz', -1,), '[]string[s:"abc", s:"acb"]', None),
    (
        'regexFindAll', ('(', 'x', -1,),
        None,
        'regexp: Compile(`(`): error parsing regexp: missing closing ): `(`',
    ),
    ('mustRegexFindAll', ('(', 'x', -1,), None, 'error parsing regexp: missing closing ): `(`'),
    ('regexFindAll', ('', 'abc', -1,), '[]string[s:"", s:"", s:"", s:""]', None),
    ('regexFindAll', ('', '', -1,), '[]string[s:""]', None),
    ('regexFindAll', ('b*', 'abb', -1,), '[]string[s:"", s:"bb"]', None),
    ('regexFindAll', ('(?i)straSSe', 'STRASSE stra\u00dfe', -1,), '[]string[s:"STRASSE"]', None),
    ('regexFindAll', ('[[:punct:]]', 'a!b@c', -1,), '[]string[s:"!", s:"@"]', None),
    ('regexFindAll', ('\\p{Nd}+', 'a12\u06634b', -1,), '[]string[s:"12\\u06634"]', None),
    ('regexFind', ('b+', 'abbbc',), 's:"bbb"', None),
    ('regexFind', ('x', 'abc',), 's:""', None),
    (
        'regexFind', ('(', '',),
        None,
        'regexp: Compile(`(`): error parsing regexp: missing closing ): `(`',
    ),
    ('mustRegexFind', ('(', '',), None, 'error parsing regexp: missing closing ): `(`'),
    ('regexFind', ('a{2}', 'aaaa',), 's:"aa"', None),
    ('regexFind', ('(?i)\u01c5', '\u01c6',), 's:"\\u01c6"', None),
    ('regexFind', ('[^\\x00-\\x{10FFFF}]', 'abc',), 's:""', None),
    ('regexFind', ('.', '\U0001f600',), 's:"\\U0001f600"', None),
    ('regexFind', ('\\x{1F600}', 'a\U0001f600',), 's:"\\U0001f600"', None),
    ('regexReplaceAll', ('a(x*)b', '-ab-axxb-', '${1}W',), 's:"-W-xxW-"', None),
    ('regexReplaceAll', ('a(x*)b', '-ab-axxb-', '$1W',), 's:"---"', None),
    ('regexReplaceAll', ('a(x*)b', '-ab-axxb-', '$$1',), 's:"-$1-$1-"', None),
    ('regexReplaceAll', ('a(?P<x>x*)b', '-axb-', '[$x]',), 's:"-[x]-"', None),
    ('regexReplaceAll', ('a(?P<x>x*)b', '-axb-', '[${x}]',), 's:"-[x]-"', None),
    ('regexReplaceAll', ('a(x*)b', '-axb-', '[$2]',), 's:"-[]-"', None),
    ('regexReplaceAll', ('a(x*)b', '-axb-', '[$]',), 's:"-[$]-"', None),
    ('regexReplaceAll', ('a(x*)b', '-axb-', '[${1]',), 's:"-[${1]-"', None),
    ('regexReplaceAll', ('a(x*)b', '-axb-', '[$01]',), 's:"-[]-"', None),
    ('regexReplaceAll', ('a(x*)b', '-axb-', '[${01}]',), 's:"-[]-"', None),
    ('regexReplaceAll', ('(a)|(b)', 'ab', '[$1|$2]',), 's:"[a|][|b]"', None),
    ('regexReplaceAll', ('x*', 'abxd', '-',), 's:"-a-b-d-"', None),
    ('regexReplaceAll', ('a*', 'baaac', '<$0>',), 's:"<>b<aaa>c<>"', None),
    ('regexReplaceAll', ('', 'abc', '-',), 's:"-a-b-c-"', None),
    ('regexReplaceAll', ('b*', 'abc', '-',), 's:"-a-c-"', None),
    ('regexReplaceAll', ('(?P<n>a)(?P<n>b)', 'ab', '$n',), 's:"a"', None),
    ('regexReplaceAll', ('(a)', 'a', '${1}${1}',), 's:"aa"', None),
    ('regexReplaceAll', ('(a)', 'a', '$1\u00e9',), 's:""', None),
    ('regexReplaceAll', ('\u00e9', 'h\u00e9\u00e9', 'e',), 's:"hee"', None),
    (
        'regexReplaceAll', ('(', 'x', 'y',),
        None,
        'regexp: Compile(`(`): error parsing regexp: missing closing ): `(`',
    ),
    ('mustRegexReplaceAll', ('(', 'x', 'y',), None, 'error parsing regexp: missing closing ): `(`'),
    ('regexReplaceAllLiteral', ('a(x*)b', '-axb-', '$1',), 's:"-$1-"', None),
    ('regexReplaceAllLiteral', ('x*', 'abxd', '-',), 's:"-a-b-d-"', None),
    (
        'regexReplaceAllLiteral', ('(', 'x', 'y',),
        None,
        'regexp: Compile(`(`): error parsing regexp: missing closing ): `(`',
    ),
    (
        'mustRegexReplaceAllLiteral', ('(', 'x', 'y',),
        None,
        'error parsing regexp: missing closing ): `(`',
    ),
    ('regexSplit', ('a', 'banana', -1,), '[]string[s:"b", s:"n", s:"n", s:""]', None),
    ('regexSplit', ('a', 'banana', 2,), '[]string[s:"b", s:"nana"]', None),
    ('regexSplit', ('a', 'banana', 0,), '[]string[]', None),
    ('regexSplit', ('a', 'banana', 1,), '[]string[s:"banana"]', None),
    (
        'regexSplit', ('a*', 'abaabaccadaaae', -1,),
        '[]string[s:"", s:"b", s:"b", s:"c", s:"c", s:"d", s:"e"]',
        None,
    ),
    ('regexSplit', ('', 'abc', -1,), '[]string[s:"a", s:"b", s:"c"]', None),
    ('regexSplit', ('', '', -1,), '[]string[]', None),
    ('regexSplit', ('x', '', -1,), '[]string[s:""]', None),
    ('regexSplit', ('a', 'a', -1,), '[]string[s:"", s:""]', None),
    ('regexSplit', (',', 'a,b,,c,', -1,), '[]string[s:"a", s:"b", s:"", s:"c", s:""]', None),
    ('regexSplit', ('x*', 'axbxxc', -1,), '[]string[s:"a", s:"b", s:"c"]', None),
    (
        'regexSplit', ('(', 'x', -1,),
        None,
        'regexp: Compile(`(`): error parsing regexp: missing closing ): `(`',
    ),
    ('mustRegexSplit', ('(', 'x', -1,), None, 'error parsing regexp: missing closing ): `(`'),
    ('regexSplit', ('\\s+', '  a  b  ', -1,), '[]string[s:"", s:"a", s:"b", s:""]', None),
    (
        'regexQuoteMeta', ('a.b*c?d+e(f)g|h[i]j{k}l^m$n\\o',),
        's:"a\\\\.b\\\\*c\\\\?d\\\\+e\\\\(f\\\\)g\\\\|h\\\\[i\\\\]j\\\\{k\\\\}l\\\\^m\\\\$n\\\\'
        '\\\\o"',
        None,
    ),
    ('regexQuoteMeta', ('plain \u00e9',), 's:"plain \\u00e9"', None),
    ('regexQuoteMeta', ('',), 's:""', None),
    # paths
    ('base', ('',), 's:"."', None),
    ('base', ('.',), 's:"."', None),
    ('base', ('..',), 's:".."', None),
    ('base', ('/',), 's:"/"', None),
    ('base', ('//',), 's:"/"', None),
    ('base', ('a',), 's:"a"', None),
    ('base', ('a/',), 's:"a"', None),
    ('base', ('/a',), 's:"a"', None),
    ('base', ('a/b',), 's:"b"', None),
    ('base', ('a/b/',), 's:"b"', None),
    ('base', ('/a/b/c.txt',), 's:"c.txt"', None),
    ('base', ('a//b',), 's:"b"', None),
    ('base', ('a/./b',), 's:"b"', None),
    ('base', ('a/../b',), 's:"b"', None),
    ('base', ('../a',), 's:"a"', None),
    ('base', ('../../a/..',), 's:".."', None),
    ('base', ('/..',), 's:".."', None),
    ('base', ('/../a',), 's:"a"', None),
    ('base', ('a/b/../../..',), 's:".."', None),
    ('base', ('a/b/../../../c',), 's:"c"', None),
    ('base', ('./',), 's:"."', None),
    ('base', ('./a',), 's:"a"', None),
    ('base', ('abc.tar.gz',), 's:"abc.tar.gz"', None),
    ('base', ('.bashrc',), 's:".bashrc"', None),
    ('base', ('a.b/c',), 's:"c"', None),
    ('base', ('a/b.',), 's:"b."', None),
    ('base', ('dir/.hidden',), 's:".hidden"', None),
    ('base', ('///a///b///',), 's:"b"', None),
    ('base', ('/a/b/../c/./d/',), 's:"d"', None),
    ('base', ('\u00e9/\u00fc.txt',), 's:"\\u00fc.txt"', None),
    ('base', ('a/.',), 's:"."', None),
    ('base', ('a/..',), 's:".."', None),
    ('base', ('.../a',), 's:"a"', None),
    ('base', ('..a/b',), 's:"b"', None),
    ('dir', ('',), 's:"."', None),
    ('dir', ('.',), 's:"."', None),
    ('dir', ('..',), 's:"."', None),
    ('dir', ('/',), 's:"/"', None),
    ('dir', ('//',), 's:"/"', None),
    ('dir', ('a',), 's:"."', None),
    ('dir', ('a/',), 's:"a"', None),
    ('dir', ('/a',), 's:"/"', None),
    ('dir', ('a/b',), 's:"a"', None),
    ('dir', ('a/b/',), 's:"a/b"', None),
    ('dir', ('/a/b/c.txt',), 's:"/a/b"', None),
    ('dir', ('a//b',), 's:"a"', None),
    ('dir', ('a/./b',), 's:"a"', None),
    ('dir', ('a/../b',), 's:"."', None),
    ('dir', ('../a',), 's:".."', None),
    ('dir', ('../../a/..',), 's:"../../a"', None),
    ('dir', ('/..',), 's:"/"', None),
    ('dir', ('/../a',), 's:"/"', None),
    ('dir', ('a/b/../../..',), 's:"."', None),
    ('dir', ('a/b/../../../c',), 's:".."', None),
    ('dir', ('./',), 's:"."', None),
    ('dir', ('./a',), 's:"."', None),
    ('dir', ('abc.tar.gz',), 's:"."', None),
    ('dir', ('.bashrc',), 's:"."', None),
    ('dir', ('a.b/c',), 's:"a.b"', None),
    ('dir', ('a/b.',), 's:"a"', None),
    ('dir', ('dir/.hidden',), 's:"dir"', None),
    ('dir', ('///a///b///',), 's:"/a/b"', None),
    ('dir', ('/a/b/../c/./d/',), 's:"/a/c/d"', None),
    ('dir', ('\u00e9/\u00fc.txt',), 's:"\\u00e9"', None),
    ('dir', ('a/.',), 's:"a"', None),
    ('dir', ('a/..',), 's:"a"', None),
    ('dir', ('.../a',), 's:"..."', None),
    ('dir', ('..a/b',), 's:"..a"', None),
    ('clean', ('',), 's:"."', None),
    ('clean', ('.',), 's:"."', None),
    ('clean', ('..',), 's:".."', None),
    ('clean', ('/',), 's:"/"', None),
    ('clean', ('//',), 's:"/"', None),
    ('clean', ('a',), 's:"a"', None),
    ('clean', ('a/',), 's:"a"', None),
    ('clean', ('/a',), 's:"/a"', None),
    ('clean', ('a/b',), 's:"a/b"', None),
    ('clean', ('a/b/',), 's:"a/b"', None),
    ('clean', ('/a/b/c.txt',), 's:"/a/b/c.txt"', None),
    ('clean', ('a//b',), 's:"a/b"', None),
    ('clean', ('a/./b',), 's:"a/b"', None),
    ('clean', ('a/../b',), 's:"b"', None),
    ('clean', ('../a',), 's:"../a"', None),
    ('clean', ('../../a/..',), 's:"../.."', None),
    ('clean', ('/..',), 's:"/"', None),
    ('clean', ('/../a',), 's:"/a"', None),
    ('clean', ('a/b/../../..',), 's:".."', None),
    ('clean', ('a/b/../../../c',), 's:"../c"', None),
    ('clean', ('./',), 's:"."', None),
    ('clean', ('./a',), 's:"a"', None),
    ('clean', ('abc.tar.gz',), 's:"abc.tar.gz"', None),
    ('clean', ('.bashrc',), 's:".bashrc"', None),
    ('clean', ('a.b/c',), 's:"a.b/c"', None),
    ('clean', ('a/b.',), 's:"a/b."', None),
    ('clean', ('dir/.hidden',), 's:"dir/.hidden"', None),
    ('clean', ('///a///b///',), 's:"/a/b"', None),
    ('clean', ('/a/b/../c/./d/',), 's:"/a/c/d"', None),
    ('clean', ('\u00e9/\u00fc.txt',), 's:"\\u00e9/\\u00fc.txt"', None),
    ('clean', ('a/.',), 's:"a"', None),
    ('clean', ('a/..',), 's:"."', None),
    ('clean', ('.../a',), 's:".../a"', None),
    ('clean', ('..a/b',), 's:"..a/b"', None),
    ('ext', ('',), 's:""', None),
    ('ext', ('.',), 's:"."', None),
    ('ext', ('..',), 's:"."', None),
    ('ext', ('/',), 's:""', None),
    ('ext', ('//',), 's:""', None),
    ('ext', ('a',), 's:""', None),
    ('ext', ('a/',), 's:""', None),
    ('ext', ('/a',), 's:""', None),
    ('ext', ('a/b',), 's:""', None),
    ('ext', ('a/b/',), 's:""', None),
    ('ext', ('/a/b/c.txt',), 's:".txt"', None),
    ('ext', ('a//b',), 's:""', None),
    ('ext', ('a/./b',), 's:""', None),
    ('ext', ('a/../b',), 's:""', None),
    ('ext', ('../a',), 's:""', None),
    ('ext', ('../../a/..',), 's:"."', None),
    ('ext', ('/..',), 's:"."', None),
    ('ext', ('/../a',), 's:""', None),
    ('ext', ('a/b/../../..',), 's:"."', None),
    ('ext', ('a/b/../../../c',), 's:""', None),
    ('ext', ('./',), 's:""', None),
    ('ext', ('./a',), 's:""', None),
    ('ext', ('abc.tar.gz',), 's:".gz"', None),
    ('ext', ('.bashrc',), 's:".bashrc"', None),
    ('ext', ('a.b/c',), 's:""', None),
    ('ext', ('a/b.',), 's:"."', None),
    ('ext', ('dir/.hidden',), 's:".hidden"', None),
    ('ext', ('///a///b///',), 's:""', None),
    ('ext', ('/a/b/../c/./d/',), 's:""', None),
    ('ext', ('\u00e9/\u00fc.txt',), 's:".txt"', None),
    ('ext', ('a/.',), 's:"."', None),
    ('ext', ('a/..',), 's:"."', None),
    ('ext', ('.../a',), 's:""', None),
    ('ext', ('..a/b',), 's:""', None),
    ('isAbs', ('',), 'bool:false', None),
    ('isAbs', ('.',), 'bool:false', None),
    ('isAbs', ('..',), 'bool:false', None),
    ('isAbs', ('/',), 'bool:true', None),
    ('isAbs', ('//',), 'bool:true', None),
    ('isAbs', ('a',), 'bool:false', None),
    ('isAbs', ('a/',), 'bool:false', None),
    ('isAbs', ('/a',), 'bool:true', None),
    ('isAbs', ('a/b',), 'bool:false', None),
    ('isAbs', ('a/b/',), 'bool:false', None),
    ('isAbs', ('/a/b/c.txt',), 'bool:true', None),
    ('isAbs', ('a//b',), 'bool:false', None),
    ('osBase', ('',), 's:"."', None),
    ('osBase', ('.',), 's:"."', None),
    ('osBase', ('..',), 's:".."', None),
    ('osBase', ('/',), 's:"/"', None),
    ('osBase', ('//',), 's:"/"', None),
    ('osBase', ('a',), 's:"a"', None),
    ('osBase', ('a/',), 's:"a"', None),
    ('osBase', ('/a',), 's:"a"', None),
    ('osBase', ('a/b',), 's:"b"', None),
    ('osBase', ('a/b/',), 's:"b"', None),
    ('osBase', ('/a/b/c.txt',), 's:"c.txt"', None),
    ('osBase', ('a//b',), 's:"b"', None),
    ('osClean', ('',), 's:"."', None),
    ('osClean', ('.',), 's:"."', None),
    ('osClean', ('..',), 's:".."', None),
    ('osClean', ('/',), 's:"/"', None),
    ('osClean', ('//',), 's:"/"', None),
    ('osClean', ('a',), 's:"a"', None),
    ('osClean', ('a/',), 's:"a"', None),
    ('osClean', ('/a',), 's:"/a"', None),
    ('osClean', ('a/b',), 's:"a/b"', None),
    ('osClean', ('a/b/',), 's:"a/b"', None),
    ('osClean', ('/a/b/c.txt',), 's:"/a/b/c.txt"', None),
    ('osClean', ('a//b',), 's:"a/b"', None),
    ('osDir', ('',), 's:"."', None),
    ('osDir', ('.',), 's:"."', None),
    ('osDir', ('..',), 's:"."', None),
    ('osDir', ('/',), 's:"/"', None),
    ('osDir', ('//',), 's:"/"', None),
    ('osDir', ('a',), 's:"."', None),
    ('osDir', ('a/',), 's:"a"', None),
    ('osDir', ('/a',), 's:"/"', None),
    ('osDir', ('a/b',), 's:"a"', None),
    ('osDir', ('a/b/',), 's:"a/b"', None),
    ('osDir', ('/a/b/c.txt',), 's:"/a/b"', None),
    ('osDir', ('a//b',), 's:"a"', None),
    ('osExt', ('',), 's:""', None),
    ('osExt', ('.',), 's:"."', None),
    ('osExt', ('..',), 's:"."', None),
    ('osExt', ('/',), 's:""', None),
    ('osExt', ('//',), 's:""', None),
    ('osExt', ('a',), 's:""', None),
    ('osExt', ('a/',), 's:""', None),
    ('osExt', ('/a',), 's:""', None),
    ('osExt', ('a/b',), 's:""', None),
    ('osExt', ('a/b/',), 's:""', None),
    ('osExt', ('/a/b/c.txt',), 's:".txt"', None),
    ('osExt', ('a//b',), 's:""', None),
    ('osIsAbs', ('',), 'bool:false', None),
    ('osIsAbs', ('.',), 'bool:false', None),
    ('osIsAbs', ('..',), 'bool:false', None),
    ('osIsAbs', ('/',), 'bool:true', None),
    ('osIsAbs', ('//',), 'bool:true', None),
    ('osIsAbs', ('a',), 'bool:false', None),
    ('osIsAbs', ('a/',), 'bool:false', None),
    ('osIsAbs', ('/a',), 'bool:true', None),
    ('osIsAbs', ('a/b',), 'bool:false', None),
    ('osIsAbs', ('a/b/',), 'bool:false', None),
    ('osIsAbs', ('/a/b/c.txt',), 'bool:true', None),
    ('osIsAbs', ('a//b',), 'bool:false', None),
    # urls
    (
        'urlParse', ('http://example.com',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"example.com", s:"hostname": s'
        ':"example.com", s:"opaque": s:"", s:"path": s:"", s:"query": s:"", s:"scheme": s:"http'
        '", s:"userinfo": s:""}',
        None,
    ),
    (
        'urlParse', ('https://user:pa%20ss@Example.COM:8080/a/b%2Fc?q=1&r=%20#frag%20x',),
        'map[string]interface {}{s:"fragment": s:"frag x", s:"host": s:"Example.COM:8080", s:"h'
        'ostname": s:"Example.COM", s:"opaque": s:"", s:"path": s:"/a/b/c", s:"query": s:"q=1&r'
        '=%20", s:"scheme": s:"https", s:"userinfo": s:"user:pa%20ss"}',
        None,
    ),
    (
        'urlParse', ('HTTP://h/p?',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"h", s:"hostname": s:"h", s:"o'
        'paque": s:"", s:"path": s:"/p", s:"query": s:"", s:"scheme": s:"http", s:"userinfo": s'
        ':""}',
        None,
    ),
    (
        'urlParse', ('mailto:joe@example.com',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"", s:"hostname": s:"", s:"opa'
        'que": s:"joe@example.com", s:"path": s:"", s:"query": s:"", s:"scheme": s:"mailto", s:'
        '"userinfo": s:""}',
        None,
    ),
    (
        'urlParse', ('/just/a/path',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"", s:"hostname": s:"", s:"opa'
        'que": s:"", s:"path": s:"/just/a/path", s:"query": s:"", s:"scheme": s:"", s:"userinfo'
        '": s:""}',
        None,
    ),
    (
        'urlParse', ('rel/path?x#y',),
        'map[string]interface {}{s:"fragment": s:"y", s:"host": s:"", s:"hostname": s:"", s:"op'
        'aque": s:"", s:"path": s:"rel/path", s:"query": s:"x", s:"scheme": s:"", s:"userinfo":'
        ' s:""}',
        None,
    ),
    (
        'urlParse', ('//host/p',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"host", s:"hostname": s:"host"'
        ', s:"opaque": s:"", s:"path": s:"/p", s:"query": s:"", s:"scheme": s:"", s:"userinfo":'
        ' s:""}',
        None,
    ),
    (
        'urlParse', ('///a/b',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"", s:"hostname": s:"", s:"opa'
        'que": s:"", s:"path": s:"///a/b", s:"query": s:"", s:"scheme": s:"", s:"userinfo": s:"'
        '"}',
        None,
    ),
    (
        'urlParse', ('',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"", s:"hostname": s:"", s:"opa'
        'que": s:"", s:"path": s:"", s:"query": s:"", s:"scheme": s:"", s:"userinfo": s:""}',
        None,
    ),
    (
        'urlParse', ('*',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"", s:"hostname": s:"", s:"opa'
        'que": s:"", s:"path": s:"*", s:"query": s:"", s:"scheme": s:"", s:"userinfo": s:""}',
        None,
    ),
    (
        'urlParse', ('http://[::1]:80/x',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"[::1]:80", s:"hostname": s:":'
        ':1", s:"opaque": s:"", s:"path": s:"/x", s:"query": s:"", s:"scheme": s:"http", s:"use'
        'rinfo": s:""}',
        None,
    ),
    (
        'urlParse', ('http://[fe80::1%25en0]/',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"[fe80::1%en0]", s:"hostname":'
        ' s:"fe80::1%en0", s:"opaque": s:"", s:"path": s:"/", s:"query": s:"", s:"scheme": s:"h'
        'ttp", s:"userinfo": s:""}',
        None,
    ),
    (
        'urlParse', ('http://[::1',),
        None,
        'unable to parse url: parse "http://[::1": missing \']\' in host',
    ),
    (
        'urlParse', ('http://h:port/',),
        None,
        'unable to parse url: parse "http://h:port/": invalid port ":port" after host',
    ),
    (
        'urlParse', ('http://h:80x/',),
        None,
        'unable to parse url: parse "http://h:80x/": invalid port ":80x" after host',
    ),
    ('urlParse', (':foo',), None, 'unable to parse url: parse ":foo": missing protocol scheme'),
    (
        'urlParse', ('a:b/c',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"", s:"hostname": s:"", s:"opa'
        'que": s:"b/c", s:"path": s:"", s:"query": s:"", s:"scheme": s:"a", s:"userinfo": s:""}',
        None,
    ),
    (
        'urlParse', ('1http://x',),
        None,
        'unable to parse url: parse "1http://x": first path segment in URL cannot contain colon',
    ),
    (
        'urlParse', ('x/a:b',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"", s:"hostname": s:"", s:"opa'
        'que": s:"", s:"path": s:"x/a:b", s:"query": s:"", s:"scheme": s:"", s:"userinfo": s:""'
        '}',
        None,
    ),
    (
        'urlParse', ('http://a b.com/',),
        None,
        'unable to parse url: parse "http://a b.com/": invalid character " " in host name',
    ),
    (
        'urlParse', ('http://h/%zz',),
        None,
        'unable to parse url: parse "http://h/%zz": invalid URL escape "%zz"',
    ),
    (
        'urlParse', ('http://h/#%zz',),
        None,
        'unable to parse url: parse "http://h/#%zz": invalid URL escape "%zz"',
    ),
    (
        'urlParse', ('http://u@h@x/',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"x", s:"hostname": s:"x", s:"o'
        'paque": s:"", s:"path": s:"/", s:"query": s:"", s:"scheme": s:"http", s:"userinfo": s:'
        '"u%40h"}',
        None,
    ),
    (
        'urlParse', ('http://us er@h/',),
        None,
        'unable to parse url: parse "http://us er@h/": net/url: invalid userinfo',
    ),
    (
        'urlParse', ('http://h/\x7f',),
        None,
        'unable to parse url: parse "http://h/\\x7f": net/url: invalid control character in URL',
    ),
    (
        'urlParse', ('http://h/a b',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"h", s:"hostname": s:"h", s:"o'
        'paque": s:"", s:"path": s:"/a b", s:"query": s:"", s:"scheme": s:"http", s:"userinfo":'
        ' s:""}',
        None,
    ),
    (
        'urlParse', ('http://h/\u00e9?\u00e9#\u00e9',),
        'map[string]interface {}{s:"fragment": s:"\\u00e9", s:"host": s:"h", s:"hostname": s:"h'
        '", s:"opaque": s:"", s:"path": s:"/\\u00e9", s:"query": s:"\\u00e9", s:"scheme": s:"ht'
        'tp", s:"userinfo": s:""}',
        None,
    ),
    (
        'urlParse', ('http://user@h',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"h", s:"hostname": s:"h", s:"o'
        'paque": s:"", s:"path": s:"", s:"query": s:"", s:"scheme": s:"http", s:"userinfo": s:"'
        'user"}',
        None,
    ),
    (
        'urlParse', ('http://user:@h',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"h", s:"hostname": s:"h", s:"o'
        'paque": s:"", s:"path": s:"", s:"query": s:"", s:"scheme": s:"http", s:"userinfo": s:"'
        'user:"}',
        None,
    ),
    (
        'urlParse', ('http://%41:%42@h/',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"h", s:"hostname": s:"h", s:"o'
        'paque": s:"", s:"path": s:"/", s:"query": s:"", s:"scheme": s:"http", s:"userinfo": s:'
        '"A:B"}',
        None,
    ),
    (
        'urlParse', ('file:///etc/passwd',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"", s:"hostname": s:"", s:"opa'
        'que": s:"", s:"path": s:"/etc/passwd", s:"query": s:"", s:"scheme": s:"file", s:"useri'
        'nfo": s:""}',
        None,
    ),
    (
        'urlParse', ('http://h/?a?b',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"h", s:"hostname": s:"h", s:"o'
        'paque": s:"", s:"path": s:"/", s:"query": s:"a?b", s:"scheme": s:"http", s:"userinfo":'
        ' s:""}',
        None,
    ),
    (
        'urlParse', ('git@github.com:org/repo.git',),
        None,
        'unable to parse url: parse "git@github.com:org/repo.git": first path segment in URL ca'
        'nnot contain colon',
    ),
    (
        'urlParse', ('ssh://git@github.com/org/repo.git',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"github.com", s:"hostname": s:'
        '"github.com", s:"opaque": s:"", s:"path": s:"/org/repo.git", s:"query": s:"", s:"schem'
        'e": s:"ssh", s:"userinfo": s:"git"}',
        None,
    ),
    (
        'urlParse', ('http://h/%2e%2E/x',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"h", s:"hostname": s:"h", s:"o'
        'paque": s:"", s:"path": s:"/../x", s:"query": s:"", s:"scheme": s:"http", s:"userinfo"'
        ': s:""}',
        None,
    ),
    (
        'urlParse', ('http://[::1]x/',),
        None,
        'unable to parse url: parse "http://[::1]x/": invalid port "x" after host',
    ),
    (
        'urlParse', ('http://h%41/',),
        None,
        'unable to parse url: parse "http://h%41/": invalid URL escape "%41"',
    ),
    (
        'urlParse', ('http://h%2/',),
        None,
        'unable to parse url: parse "http://h%2/": invalid URL escape "%2"',
    ),
    (
        'urlParse', ('https://h/p#',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"h", s:"hostname": s:"h", s:"o'
        'paque": s:"", s:"path": s:"/p", s:"query": s:"", s:"scheme": s:"https", s:"userinfo": '
        's:""}',
        None,
    ),
    (
        'urlParse', ('http://h:/',),
        'map[string]interface {}{s:"fragment": s:"", s:"host": s:"h:", s:"hostname": s:"h", s:"'
        'opaque": s:"", s:"path": s:"/", s:"query": s:"", s:"scheme": s:"http", s:"userinfo": s'
        ':""}',
        None,
    ),
    (
        'urlJoin',
        ({'scheme': 'https', 'host': 'h:84', 'path': '/a b', 'query': 'x=1&y', 'fragment': 'f g'},),
        's:"https://h:84/a%20b?x=1&y#f%20g"',
        None,
    ),
    (
        'urlJoin', ({'scheme': 'http', 'host': 'h', 'userinfo': 'user:pass word'},),
        None,
        'unable to parse userinfo in dict: parse "proto://user:pass word@host": net/url: invali'
        'd userinfo',
    ),
    ('urlJoin', ({'scheme': 'http', 'host': 'h', 'userinfo': 'user'},), 's:"http://user@h"', None),
    (
        'urlJoin', ({'scheme': 'mailto', 'opaque': 'joe@example.com'},),
        's:"mailto:joe@example.com"',
        None,
    ),
    ('urlJoin', ({'path': 'a:b/c'},), 's:"./a:b/c"', None),
    ('urlJoin', ({'path': 'rel'},), 's:"rel"', None),
    ('urlJoin', ({},), 's:""', None),
    ('urlJoin', ({'host': 'h', 'path': 'rel'},), 's:"//h/rel"', None),
    ('urlJoin', ({'scheme': 'http', 'path': '/p'},), 's:"http:///p"', None),
    ('urlJoin', ({'scheme': 'http', 'host': 'h', 'query': ''},), 's:"http://h"', None),
    ('urlJoin', ({'scheme': 'http', 'host': 'h', 'userinfo': 'a@b'},), 's:"http://a%40b@h"', None),
    (
        'urlJoin', ({'scheme': 'http', 'host': '\u00fc', 'path': '/\u00fc'},),
        's:"http://%C3%BC/%C3%BC"',
        None,
    ),
    (
        'urlJoin', ({'scheme': 1},),
        None,
        'unable to parse scheme key, must be of type string, but int found',
    ),
    (
        'urlJoin', ({'host': ['x']},),
        None,
        'unable to parse host key, must be of type string, but slice found',
    ),
    (
        'urlJoin', ({'path': None},),
        None,
        'runtime error: invalid memory address or nil pointer dereference',
    ),
    ('urlJoin', ({'extra': 1, 'path': '/x'},), 's:"/x"', None),
    (
        'urlJoin', ({'scheme': 'http', 'host': 'h', 'userinfo': '%zz'},),
        None,
        'unable to parse userinfo in dict: parse "proto://%zz@host": invalid URL escape "%zz"',
    ),
    ('urlJoin', ({'fragment': 'a#b!()*', 'path': '/x?y'},), 's:"/x%3Fy#a%23b!()*"', None),
    # crypto
    ('sha1sum', ('',), 's:"da39a3ee5e6b4b0d3255bfef95601890afd80709"', None),
    (
        'sha256sum', ('',),
        's:"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
        None,
    ),
    ('adler32sum', ('',), 's:"1"', None),
    ('sha1sum', ('abc',), 's:"a9993e364706816aba3e25717850c26c9cd0d89d"', None),
    (
        'sha256sum', ('abc',),
        's:"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"',
        None,
    ),
    ('adler32sum', ('abc',), 's:"38600999"', None),
    ('sha1sum', ('h\u00e9llo',), 's:"35b5ea45c5e41f78b46a937cc74d41dfea920890"', None),
    (
        'sha256sum', ('h\u00e9llo',),
        's:"3c48591d8d098a4538f5e013dfcf406e948eac4d3277b10bf614e295d6068179"',
        None,
    ),
    ('adler32sum', ('h\u00e9llo',), 's:"192152348"', None),
    (
        'sha1sum', ('The quick brown fox jumps over the lazy dog',),
        's:"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"',
        None,
    ),
    (
        'sha256sum', ('The quick brown fox jumps over the lazy dog',),
        's:"d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"',
        None,
    ),
    ('adler32sum', ('The quick brown fox jumps over the lazy dog',), 's:"1541148634"', None),
    ('sha1sum', ('a' * 6000,), 's:"ccb0bdc78cddbb113afded9ec3324d725a6ea86e"', None),
    (
        'sha256sum', ('a' * 6000,),
        's:"1554d4b01d511f5918b739d07993476b80e1ece6c74f447f35064a31062f49f0"',
        None,
    ),
    ('adler32sum', ('a' * 6000,), 's:"2051858921"', None),
    (
        'sha256sum', (BAD,),
        's:"87501f8b46f177d7c6265f492c2e48ff07bf7af7ec33a0fe7705a45e16c77b74"',
        None,
    ),
    (
        'derivePassword', (Uint32(1), 'long', 'password', 'user', 'example.com',),
        's:"ZedaFaxcZaso9*"',
        None,
    ),
    (
        'derivePassword', (Uint32(1), 'maximum', 'password', 'user', 'example.com',),
        's:"pf4zS1LjCg&LjhsZ7T2~"',
        None,
    ),
    (
        'derivePassword', (Uint32(1), 'medium', 'password', 'user', 'example.com',),
        's:"ZedJuz8$"',
        None,
    ),
    ('derivePassword', (Uint32(1), 'short', 'password', 'user', 'example.com',), 's:"Zed5"', None),
    (
        'derivePassword', (Uint32(1), 'basic', 'password', 'user', 'example.com',),
        's:"pIS54PLs"',
        None,
    ),
    ('derivePassword', (Uint32(1), 'pin', 'password', 'user', 'example.com',), 's:"6685"', None),
    (
        'derivePassword', (Uint32(1), 'nope', 'password', 'user', 'example.com',),
        's:"cannot find password template nope"',
        None,
    ),
    (
        'derivePassword', (Uint32(4294967295), 'long', 'p\u00e4ssword', '\u00fcser', 'site',),
        's:"GebwKeql5;Sepa"',
        None,
    ),
    # semver
    ('semver', ('1.2.3',), '*semver.Version|"1.2.3"', None),
    ('semver', ('v1.2.3',), '*semver.Version|"1.2.3"', None),
    ('semver', ('1.2',), '*semver.Version|"1.2.0"', None),
    ('semver', ('1',), '*semver.Version|"1.0.0"', None),
    ('semver', ('v1',), '*semver.Version|"1.0.0"', None),
    ('semver', ('01.2.3',), '*semver.Version|"1.2.3"', None),
    ('semver', ('1.02.3',), '*semver.Version|"1.2.3"', None),
    ('semver', ('1.2.3-beta.1+build.5',), '*semver.Version|"1.2.3-beta.1+build.5"', None),
    ('semver', ('1.2.3-01',), None, 'Version segment starts with 0'),
    ('semver', ('1.2.3-0a',), '*semver.Version|"1.2.3-0a"', None),
    ('semver', ('1.2.3+meta_x',), None, 'Invalid Semantic Version'),
    ('semver', ('1.2.3-beta_1',), None, 'Invalid Semantic Version'),
    ('semver', ('',), None, 'Invalid Semantic Version'),
    ('semver', ('a.b.c',), None, 'Invalid Semantic Version'),
    ('semver', ('1.2.3.4',), None, 'Invalid Semantic Version'),
    ('semver', (' 1.2.3',), None, 'Invalid Semantic Version'),
    ('semver', ('1.2.3\n',), None, 'Invalid Semantic Version'),
    (
        'semver', ('18446744073709551616.0.0',),
        None,
        'Error parsing version segment: strconv.ParseUint: parsing "18446744073709551616": valu'
        'e out of range',
    ),
    ('semver', ('1.2.3-alpha..1',), None, 'Invalid Semantic Version'),
    ('semver', ('1.2.3-',), None, 'Invalid Semantic Version'),
    ('semver', ('1.2.3+',), None, 'Invalid Semantic Version'),
    ('semver', ('1.2.3-rc.1+b',), '*semver.Version|"1.2.3-rc.1+b"', None),
    ('semver', ('V1.2.3',), None, 'Invalid Semantic Version'),
    ('semver', ('1.x',), None, 'Invalid Semantic Version'),
    ('semver', ('1.2.3-beta+m+n',), None, 'Invalid Semantic Version'),
    ('semver.Major', ('v1.2.3-beta.1+build.5',), 'uint64:1', None),
    ('semver.Major', ('2',), 'uint64:2', None),
    ('semver.Major', ('1.2.3',), 'uint64:1', None),
    ('semver.Minor', ('v1.2.3-beta.1+build.5',), 'uint64:2', None),
    ('semver.Minor', ('2',), 'uint64:0', None),
    ('semver.Minor', ('1.2.3',), 'uint64:2', None),
    ('semver.Patch', ('v1.2.3-beta.1+build.5',), 'uint64:3', None),
    ('semver.Patch', ('2',), 'uint64:0', None),
    ('semver.Patch', ('1.2.3',), 'uint64:3', None),
    ('semver.Prerelease', ('v1.2.3-beta.1+build.5',), 's:"beta.1"', None),
    ('semver.Prerelease', ('2',), 's:""', None),
    ('semver.Prerelease', ('1.2.3',), 's:""', None),
    ('semver.Metadata', ('v1.2.3-beta.1+build.5',), 's:"build.5"', None),
    ('semver.Metadata', ('2',), 's:""', None),
    ('semver.Metadata', ('1.2.3',), 's:""', None),
    ('semver.Original', ('v1.2.3-beta.1+build.5',), 's:"v1.2.3-beta.1+build.5"', None),
    ('semver.Original', ('2',), 's:"2"', None),
    ('semver.Original', ('1.2.3',), 's:"1.2.3"', None),
    ('semver.String', ('v1.2.3-beta.1+build.5',), 's:"1.2.3-beta.1+build.5"', None),
    ('semver.String', ('2',), 's:"2.0.0"', None),
    ('semver.String', ('1.2.3',), 's:"1.2.3"', None),
    ('semver.IncPatch', ('v1.2.3-beta.1+build.5',), 'semver.Version|"1.2.3"', None),
    ('semver.IncPatch', ('1.2.3',), 'semver.Version|"1.2.4"', None),
    ('semver.IncMinor', ('v1.2.3-beta.1+build.5',), 'semver.Version|"1.3.0"', None),
    ('semver.IncMinor', ('1.2.3',), 'semver.Version|"1.3.0"', None),
    ('semver.IncMajor', ('v1.2.3-beta.1+build.5',), 'semver.Version|"2.0.0"', None),
    ('semver.IncMajor', ('1.2.3',), 'semver.Version|"2.0.0"', None),
    ('semverCompare', ('1.2.3', '1.2.3',), 'bool:true', None),
    ('semverCompare', ('=1.2.3', '1.2.3',), 'bool:true', None),
    ('semverCompare', ('1.2.3', '1.2.4',), 'bool:false', None),
    ('semverCompare', ('!=1.2.3', '1.2.4',), 'bool:true', None),
    ('semverCompare', ('!=1.2.3', '1.2.3',), 'bool:false', None),
    ('semverCompare', ('>1.2.3', '1.2.4',), 'bool:true', None),
    ('semverCompare', ('>1.2.3', '1.2.3',), 'bool:false', None),
    ('semverCompare', ('<1.2.3', '1.2.2',), 'bool:true', None),
    ('semverCompare', ('>=1.2.3', '1.2.3',), 'bool:true', None),
    ('semverCompare', ('<=1.2.3', '1.2.4',), 'bool:false', None),
    ('semverCompare', ('=>1.2', '1.3.0',), 'bool:true', None),
    ('semverCompare', ('=<1.2', '1.2.9',), 'bool:true', None),
    ('semverCompare', ('<=1.2', '1.3.0',), 'bool:false', None),
    ('semverCompare', ('~1.2.3', '1.2.9',), 'bool:true', None),
    ('semverCompare', ('~1.2.3', '1.3.0',), 'bool:false', None),
    ('semverCompare', ('~1', '1.9.9',), 'bool:true', None),
    ('semverCompare', ('~1', '2.0.0',), 'bool:false', None),
    ('semverCompare', ('~>1.2', '1.2.5',), 'bool:true', None),
    ('semverCompare', ('^1.2.3', '1.9.0',), 'bool:true', None),
    ('semverCompare', ('^1.2.3', '2.0.0',), 'bool:false', None),
    ('semverCompare', ('^0.2.3', '0.2.9',), 'bool:true', None),
    ('semverCompare', ('^0.2.3', '0.3.0',), 'bool:false', None),
    ('semverCompare', ('^0.0.3', '0.0.3',), 'bool:true', None),
    ('semverCompare', ('^0.0.3', '0.0.4',), 'bool:false', None),
    ('semverCompare', ('^0', '0.9.0',), 'bool:true', None),
    ('semverCompare', ('^0.0', '0.0.9',), 'bool:true', None),
    ('semverCompare', ('^0.0', '0.1.0',), 'bool:false', None),
    ('semverCompare', ('1.x', '1.5.0',), 'bool:true', None),
    ('semverCompare', ('1.2.x', '1.2.7',), 'bool:true', None),
    ('semverCompare', ('1.2.x', '1.3.0',), 'bool:false', None),
    ('semverCompare', ('*', '5.0.0',), 'bool:true', None),
    ('semverCompare', ('*', '1.0.0-beta',), 'bool:false', None),
    ('semverCompare', ('', '1.0.0',), None, 'improper constraint: '),
    ('semverCompare', ('1.2 - 1.4', '1.3.0',), 'bool:true', None),
    ('semverCompare', ('1.2 - 1.4', '1.4.5',), 'bool:true', None),
    ('semverCompare', ('1.2.0 - 1.4.0', '1.4.1',), 'bool:false', None),
    ('semverCompare', ('>1.0 <2.0', '1.5.0',), 'bool:true', None),
    ('semverCompare', ('>1.0, <2.0', '2.0.0',), 'bool:false', None),
    ('semverCompare', ('>1.0 || <0.5', '0.4.0',), 'bool:true', None),
    ('semverCompare', ('<1 || >2 || =1.5', '1.5.0',), 'bool:true', None),
    ('semverCompare', ('>=1.0.0-beta', '1.0.0-alpha',), 'bool:false', None),
    ('semverCompare', ('>=1.0.0-beta', '1.0.0-rc.1',), 'bool:true', None),
    ('semverCompare', ('>=1.0.0', '1.0.0-rc.1',), 'bool:false', None),
    ('semverCompare', ('>1.0.0-alpha.1', '1.0.0-alpha.beta',), 'bool:true', None),
    ('semverCompare', ('<1.0.0-alpha.10', '1.0.0-alpha.9',), 'bool:true', None),
    ('semverCompare', ('>1.x', '2.0.0',), 'bool:true', None),
    ('semverCompare', ('>1.x', '1.9.0',), 'bool:false', None),
    ('semverCompare', ('>1.2.x', '1.3.0',), 'bool:true', None),
    ('semverCompare', ('>1.2.x', '1.2.9',), 'bool:false', None),
    ('semverCompare', ('<=1.x', '1.9.9',), 'bool:true', None),
    ('semverCompare', ('!=1.x', '1.2.0',), 'bool:false', None),
    ('semverCompare', ('!=1.x', '2.2.0',), 'bool:true', None),
    ('semverCompare', ('!=1.2.x', '1.2.3',), 'bool:false', None),
    ('semverCompare', ('!=1.2.x', '1.3.0',), 'bool:true', None),
    ('semverCompare', ('!=1.2.x-beta', '1.2.3-alpha',), 'bool:true', None),
    ('semverCompare', ('~0', '0.5.0',), 'bool:true', None),
    ('semverCompare', ('~0.0.0', '3.0.0',), 'bool:true', None),
    ('semverCompare', ('v1.2.3', '1.2.3',), 'bool:true', None),
    ('semverCompare', (' >= 1.2.3 ', '1.2.3',), 'bool:true', None),
    ('semverCompare', ('1.2.3+meta', '1.2.3',), 'bool:true', None),
    ('semverCompare', ('=1.2.3-beta', '1.2.3-beta',), 'bool:true', None),
    ('semverCompare', ('bad', '1.0.0',), None, 'improper constraint: bad'),
    ('semverCompare', ('>=1.0.0', 'bad',), None, 'Invalid Semantic Version'),
    ('semverCompare', ('1.2.3 ||', '1.2.3',), None, 'improper constraint: '),
    ('semverCompare', ('||', '1.0.0',), None, 'improper constraint: '),
    ('semverCompare', ('>= 1.2.3 <', '1.2.3',), None, 'improper constraint: >= 1.2.3 <'),
    ('semverCompare', ('1.2.3,', '1.2.3',), None, 'improper constraint: 1.2.3,'),
    ('semverCompare', ('>>1.0', '1.0.0',), None, 'improper constraint: >>1.0'),
    ('semverCompare', ('1..2', '1.0.0',), None, 'improper constraint: 1..2'),
    ('semverCompare', ('01.2.3', '1.2.3',), 'bool:true', None),
    ('semverCompare', ('1.2.3-01', '1.2.3',), None, 'constraint Parser Error'),
    ('semverCompare', ('x.1.2', '0.0.1',), 'bool:true', None),
    ('semverCompare', ('1.x.2', '1.5.0',), 'bool:true', None),
    ('semverCompare', ('=1.x', '1.2.3-beta',), 'bool:false', None),
    ('semverCompare', ('^1.2.3-beta.2', '1.2.3-beta.10',), 'bool:true', None),
    ('semverCompare', ('~1.2.3-beta', '1.2.4',), 'bool:true', None),
    ('semverCompare', ('<2.0.0', '1.9.9-beta',), 'bool:false', None),
    # dates
    ('date', ('2006-01-02 15:04:05', T,), 's:"2021-03-04 00:06:07"', None),
    ('date', ('Jan _2', T,), 's:"Mar  4"', None),
    ('date', ('MST', T,), 's:"EST"', None),
    ('date', ('.000', T,), 's:".891"', None),
    (
        'date', ('Monday January 2 2006 3:04:05.999 PM -07:00 Z07:00', T,),
        's:"Thursday March 4 2021 12:06:07.891 AM -05:00 -05:00"',
        None,
    ),
    (
        'date', ('2006-01-02T15:04:05.999999999Z07:00', T,),
        's:"2021-03-04T00:06:07.891234567-05:00"',
        None,
    ),
    ('date', ('2006-01-02T15:04:05Z0700', T,), 's:"2021-03-04T00:06:07-0500"', None),
    ('date', ('002 __2 _2', T,), 's:"063  63  4"', None),
    ('date', (',000 ,999', T,), 's:",891 ,891"', None),
    ('date', ('15:04:05.000000000', T,), 's:"00:06:07.891234567"', None),
    ('date', ('.9 .99 .999999999', T,), 's:".8 .89 .891234567"', None),
    ('date', ('Mon Jan Monday', T,), 's:"Thu Mar Thursday"', None),
    ('date', ('pm PM 3 03', T,), 's:"am AM 12 12"', None),
    ('date', ('-070000 Z07:00:00 -07 Z07', T,), 's:"-050000 -05:00:00 -05 -05"', None),
    ('date', ('January Janx Mond Monx', T,), 's:"March Janx Mond Monx"', None),
    ('date', ('2006-1-2 15:4:5', T,), 's:"2021-3-4 00:6:7"', None),
    ('date', ('_2006 __2006', T,), 's:"_2021  63021"', None),
    ('date', ('1 01 2 02 4 04 5 05', T,), 's:"3 03 4 04 6 06 7 07"', None),
    ('date', ('no layout here', T,), 's:"no layout here"', None),
    ('date', ('', T,), 's:""', None),
    ('date', ('.0009', T,), 's:".0009"', None),
    ('date', ('05.999', T,), 's:"07.891"', None),
    ('date', ('Z0700 Z07:00 Z070000', T,), 's:"-0500 -05:00 -050000"', None),
    ('date', ('06 \'06', T,), 's:"21 \'21"', None),
    ('date', ('2006-01-02 15:04:05 MST', TP,), 's:"2021-03-04 00:06:07 EST"', None),
    ('date', ('2006-01-02 15:04:05 MST Z07:00', TZ,), 's:"2021-03-03 20:36:07 EST -05:00"', None),
    ('date', ('2006-01-02 15:04:05 MST', 1600000000,), 's:"2020-09-13 08:26:40 EDT"', None),
    ('date', ('2006-01-02 15:04:05 MST', -1,), 's:"1969-12-31 18:59:59 EST"', None),
    ('date', ('2006-01-02 15:04:05 MST', Int64(42),), 's:"1969-12-31 19:00:42 EST"', None),
    ('date', ('2006-01-02 15:04:05 MST', Int32(-7),), 's:"1969-12-31 18:59:53 EST"', None),
    ('date', ('15:04 MST', 1615705200,), 's:"03:00 EDT"', None),
    ('date', ('15:04 MST', 1615701600,), 's:"01:00 EST"', None),
    ('date', ('15:04 MST', 1636264800,), 's:"01:00 EST"', None),
    ('date', ('2006 MST', -62135596800,), 's:"0000 LMT"', None),
    ('date', ('2006-01-02 MST', 253402300799,), 's:"9999-12-31 EST"', None),
    ('date', ('2006-01-02 Mon', 951782400,), 's:"2000-02-28 Mon"', None),
    ('date', ('002', 983404800,), 's:"059"', None),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'UTC',),
        's:"2021-03-04 05:06:07 UTC +00:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, '',),
        's:"2021-03-04 05:06:07 UTC +00:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'Local',),
        's:"2021-03-04 00:06:07 EST -05:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'Asia/Tokyo',),
        's:"2021-03-04 14:06:07 JST +09:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'Europe/London',),
        's:"2021-03-04 05:06:07 GMT +00:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'America/New_York',),
        's:"2021-03-04 00:06:07 EST -05:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'Nope/Zone',),
        's:"2021-03-04 05:06:07 UTC +00:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'Asia/Kolkata',),
        's:"2021-03-04 10:36:07 IST +05:30"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'Australia/Lord_Howe',),
        's:"2021-03-04 16:06:07 +11 +11:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'Pacific/Chatham',),
        's:"2021-03-04 18:51:07 +1345 +13:45"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, '../etc',),
        's:"2021-03-04 05:06:07 UTC +00:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'Europe/Istanbul',),
        's:"2021-03-04 08:06:07 +03 +03:00"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'America/St_Johns',),
        's:"2021-03-04 01:36:07 NST -03:30"',
        None,
    ),
    (
        'dateInZone', ('2006-01-02 15:04:05 MST -07:00', T, 'EST5EDT',),
        's:"2021-03-04 00:06:07 EST -05:00"',
        None,
    ),
    ('date_in_zone', ('15:04 MST', 1600000000, 'Asia/Tokyo',), 's:"21:26 JST"', None),
    ('htmlDate', (T,), 's:"2021-03-04"', None),
    ('htmlDate', (0,), 's:"1969-12-31"', None),
    ('htmlDateInZone', (T, 'Asia/Tokyo',), 's:"2021-03-04"', None),
    ('htmlDateInZone', (1600000000, 'Pacific/Kiritimati',), 's:"2020-09-14"', None),
    ('unixEpoch', (T,), 's:"1614834367"', None),
    ('unixEpoch', (TZ,), 's:"1614821767"', None),
    ('duration', ('3723',), 's:"1h2m3s"', None),
    ('duration', (Int64(42),), 's:"42s"', None),
    ('duration', (60,), 's:"0s"', None),
    ('duration', ('abc',), 's:"0s"', None),
    ('duration', ('99999999999999999999',), 's:"-1s"', None),
    ('duration', (Int64(-90061),), 's:"-25h1m1s"', None),
    ('duration', ('-1',), 's:"-1s"', None),
    ('duration', ('0',), 's:"0s"', None),
    ('duration', (Int64(9223372036),), 's:"2562047h47m16s"', None),
    ('duration', (Int64(9223372037),), 's:"-2562047h47m16.709551616s"', None),
    ('duration', (None,), 's:"0s"', None),
    ('duration', (1.5,), 's:"0s"', None),
    ('durationRound', ('2h5m',), 's:"2h"', None),
    ('durationRound', ('-3d',), 's:"0s"', None),
    ('durationRound', ('400h',), 's:"16d"', None),
    ('durationRound', ('9000h',), 's:"1y"', None),
    ('durationRound', ('721h',), 's:"1mo"', None),
    ('durationRound', ('25h',), 's:"1d"', None),
    ('durationRound', ('1.5s',), 's:"1s"', None),
    ('durationRound', ('59s',), 's:"59s"', None),
    ('durationRound', ('1s',), 's:"0s"', None),
    ('durationRound', ('61s',), 's:"1m"', None),
    ('durationRound', ('-2h30m',), 's:"2h"', None),
    ('durationRound', (Int64(3600000000001),), 's:"1h"', None),
    ('durationRound', (Int64(-86400000000001),), 's:"1d"', None),
    ('durationRound', (5,), 's:"0s"', None),
    ('durationRound', (None,), 's:"0s"', None),
    ('durationRound', (Int64(-9223372036854775808),), 's:"292y"', None),
    ('dateModify', ('1h30m', T,), 'time.Time|"2021-03-04 06:36:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('1h30m', T,), 'time.Time|"2021-03-04 06:36:07.891234567 +0000 UTC"', None),
    ('dateModify', ('-90s', T,), 'time.Time|"2021-03-04 05:04:37.891234567 +0000 UTC"', None),
    ('mustDateModify', ('-90s', T,), 'time.Time|"2021-03-04 05:04:37.891234567 +0000 UTC"', None),
    ('dateModify', ('bad', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('bad', T,), None, 'time: invalid duration "bad"'),
    ('dateModify', ('1.5h', T,), 'time.Time|"2021-03-04 06:36:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('1.5h', T,), 'time.Time|"2021-03-04 06:36:07.891234567 +0000 UTC"', None),
    ('dateModify', ('1h1h', T,), 'time.Time|"2021-03-04 07:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('1h1h', T,), 'time.Time|"2021-03-04 07:06:07.891234567 +0000 UTC"', None),
    ('dateModify', ('', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('', T,), None, 'time: invalid duration ""'),
    ('dateModify', ('.5s', T,), 'time.Time|"2021-03-04 05:06:08.391234567 +0000 UTC"', None),
    ('mustDateModify', ('.5s', T,), 'time.Time|"2021-03-04 05:06:08.391234567 +0000 UTC"', None),
    ('dateModify', ('5', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('5', T,), None, 'time: missing unit in duration "5"'),
    ('dateModify', ('1ms2us3ns', T,), 'time.Time|"2021-03-04 05:06:07.89223657 +0000 UTC"', None),
    (
        'mustDateModify', ('1ms2us3ns', T,),
        'time.Time|"2021-03-04 05:06:07.89223657 +0000 UTC"',
        None,
    ),
    ('dateModify', ('1\u00b5s', T,), 'time.Time|"2021-03-04 05:06:07.891235567 +0000 UTC"', None),
    (
        'mustDateModify', ('1\u00b5s', T,),
        'time.Time|"2021-03-04 05:06:07.891235567 +0000 UTC"',
        None,
    ),
    ('dateModify', ('1\u03bcs', T,), 'time.Time|"2021-03-04 05:06:07.891235567 +0000 UTC"', None),
    (
        'mustDateModify', ('1\u03bcs', T,),
        'time.Time|"2021-03-04 05:06:07.891235567 +0000 UTC"',
        None,
    ),
    (
        'dateModify', ('9223372036854775807ns', T,),
        'time.Time|"2313-06-14 04:53:24.746010374 +0000 UTC"',
        None,
    ),
    (
        'mustDateModify', ('9223372036854775807ns', T,),
        'time.Time|"2313-06-14 04:53:24.746010374 +0000 UTC"',
        None,
    ),
    (
        'dateModify', ('9223372036854775808ns', T,),
        'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"',
        None,
    ),
    (
        'mustDateModify', ('9223372036854775808ns', T,),
        None,
        'time: invalid duration "9223372036854775808ns"',
    ),
    (
        'dateModify', ('-9223372036854775808ns', T,),
        'time.Time|"1728-11-23 05:18:51.036458759 +0000 UTC"',
        None,
    ),
    (
        'mustDateModify', ('-9223372036854775808ns', T,),
        'time.Time|"1728-11-23 05:18:51.036458759 +0000 UTC"',
        None,
    ),
    (
        'dateModify', ('2562047h47m16.854775807s', T,),
        'time.Time|"2313-06-14 04:53:24.746010374 +0000 UTC"',
        None,
    ),
    (
        'mustDateModify', ('2562047h47m16.854775807s', T,),
        'time.Time|"2313-06-14 04:53:24.746010374 +0000 UTC"',
        None,
    ),
    ('dateModify', ('2562048h', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('2562048h', T,), None, 'time: invalid duration "2562048h"'),
    ('dateModify', ('+5m', T,), 'time.Time|"2021-03-04 05:11:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('+5m', T,), 'time.Time|"2021-03-04 05:11:07.891234567 +0000 UTC"', None),
    ('dateModify', ('-', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('-', T,), None, 'time: invalid duration "-"'),
    ('dateModify', ('1.s', T,), 'time.Time|"2021-03-04 05:06:08.891234567 +0000 UTC"', None),
    ('mustDateModify', ('1.s', T,), 'time.Time|"2021-03-04 05:06:08.891234567 +0000 UTC"', None),
    ('dateModify', ('1e3s', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('1e3s', T,), None, 'time: unknown unit "e" in duration "1e3s"'),
    ('dateModify', ('.s', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('.s', T,), None, 'time: invalid duration ".s"'),
    ('dateModify', ('0', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('0', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('dateModify', ('-0', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('-0', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('dateModify', ('1d', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('1d', T,), None, 'time: unknown unit "d" in duration "1d"'),
    (
        'dateModify', ('1.0000000000000000001h', T,),
        'time.Time|"2021-03-04 06:06:07.891234567 +0000 UTC"',
        None,
    ),
    (
        'mustDateModify', ('1.0000000000000000001h', T,),
        'time.Time|"2021-03-04 06:06:07.891234567 +0000 UTC"',
        None,
    ),
    ('dateModify', ('0.1ns', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('0.1ns', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('dateModify', ('5m-3s', T,), 'time.Time|"2021-03-04 05:06:07.891234567 +0000 UTC"', None),
    ('mustDateModify', ('5m-3s', T,), None, 'time: unknown unit "m-" in duration "5m-3s"'),
    ('date_modify', ('2h', T,), 'time.Time|"2021-03-04 07:06:07.891234567 +0000 UTC"', None),
    ('must_date_modify', ('x', T,), None, 'time: invalid duration "x"'),
    ('toDate', ('2006-01-02', '2021-03-04',), 'time.Time|"2021-03-04 00:00:00 -0500 EST"', None),
    (
        'mustToDate', ('2006-01-02', '2021-03-04',),
        'time.Time|"2021-03-04 00:00:00 -0500 EST"',
        None,
    ),
    (
        'toDate', ('2006-01-02 15:04:05', '2021-03-04 05:06:07',),
        'time.Time|"2021-03-04 05:06:07 -0500 EST"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02 15:04:05', '2021-03-04 05:06:07',),
        'time.Time|"2021-03-04 05:06:07 -0500 EST"',
        None,
    ),
    ('toDate', ('2006-01-02', '2021-13-04',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006-01-02', '2021-13-04',),
        None,
        'parsing time "2021-13-04": month out of range',
    ),
    ('toDate', ('2006-01-02', '2021-02-29',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006-01-02', '2021-02-29',),
        None,
        'parsing time "2021-02-29": day out of range',
    ),
    ('toDate', ('2006-01-02', '2020-02-29',), 'time.Time|"2020-02-29 00:00:00 -0500 EST"', None),
    (
        'mustToDate', ('2006-01-02', '2020-02-29',),
        'time.Time|"2020-02-29 00:00:00 -0500 EST"',
        None,
    ),
    ('toDate', ('2006-01-02', '21-03-04',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006-01-02', '21-03-04',),
        None,
        'parsing time "21-03-04" as "2006-01-02": cannot parse "3-04" as "2006"',
    ),
    ('toDate', ('2006-01-02', 'x',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006-01-02', 'x',),
        None,
        'parsing time "x" as "2006-01-02": cannot parse "x" as "2006"',
    ),
    (
        'toDate', ('2006-01-02', '2021-03-04 extra',),
        'time.Time|"0001-01-01 00:00:00 +0000 UTC"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02', '2021-03-04 extra',),
        None,
        'parsing time "2021-03-04 extra": extra text: " extra"',
    ),
    (
        'toDate', ('02 Jan 06 15:04 MST', '04 Mar 21 05:06 UTC',),
        'time.Time|"2021-03-04 05:06:00 +0000 UTC"',
        None,
    ),
    (
        'mustToDate', ('02 Jan 06 15:04 MST', '04 Mar 21 05:06 UTC',),
        'time.Time|"2021-03-04 05:06:00 +0000 UTC"',
        None,
    ),
    (
        'toDate', ('02 Jan 06 15:04 MST', '04 Jul 21 05:06 EDT',),
        'time.Time|"2021-07-04 05:06:00 -0400 EDT"',
        None,
    ),
    (
        'mustToDate', ('02 Jan 06 15:04 MST', '04 Jul 21 05:06 EDT',),
        'time.Time|"2021-07-04 05:06:00 -0400 EDT"',
        None,
    ),
    (
        'toDate', ('02 Jan 06 15:04 MST', '04 Jul 21 05:06 EST',),
        'time.Time|"2021-07-04 06:06:00 -0400 EDT"',
        None,
    ),
    (
        'mustToDate', ('02 Jan 06 15:04 MST', '04 Jul 21 05:06 EST',),
        'time.Time|"2021-07-04 06:06:00 -0400 EDT"',
        None,
    ),
    (
        'toDate', ('02 Jan 06 15:04 MST', '04 Jul 21 05:06 PST',),
        'time.Time|"2021-07-04 05:06:00 +0000 PST"',
        None,
    ),
    (
        'mustToDate', ('02 Jan 06 15:04 MST', '04 Jul 21 05:06 PST',),
        'time.Time|"2021-07-04 05:06:00 +0000 PST"',
        None,
    ),
    (
        'toDate', ('02 Jan 06 15:04 MST', '04 Jul 21 05:06 GMT+3',),
        'time.Time|"2021-07-04 08:06:00 +0300 GMT+3"',
        None,
    ),
    (
        'mustToDate', ('02 Jan 06 15:04 MST', '04 Jul 21 05:06 GMT+3',),
        'time.Time|"2021-07-04 08:06:00 +0300 GMT+3"',
        None,
    ),
    (
        'toDate', ('02 Jan 06 15:04 -0700', '04 Jul 21 05:06 -0400',),
        'time.Time|"2021-07-04 05:06:00 -0400 EDT"',
        None,
    ),
    (
        'mustToDate', ('02 Jan 06 15:04 -0700', '04 Jul 21 05:06 -0400',),
        'time.Time|"2021-07-04 05:06:00 -0400 EDT"',
        None,
    ),
    (
        'toDate', ('02 Jan 06 15:04 -0700', '04 Jul 21 05:06 +0530',),
        'time.Time|"2021-07-04 05:06:00 +0530 +0530"',
        None,
    ),
    (
        'mustToDate', ('02 Jan 06 15:04 -0700', '04 Jul 21 05:06 +0530',),
        'time.Time|"2021-07-04 05:06:00 +0530 +0530"',
        None,
    ),
    (
        'toDate', ('2006-01-02T15:04:05Z07:00', '2021-03-04T05:06:07Z',),
        'time.Time|"2021-03-04 05:06:07 +0000 UTC"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02T15:04:05Z07:00', '2021-03-04T05:06:07Z',),
        'time.Time|"2021-03-04 05:06:07 +0000 UTC"',
        None,
    ),
    (
        'toDate', ('2006-01-02T15:04:05Z07:00', '2021-03-04T05:06:07+01:00',),
        'time.Time|"2021-03-04 05:06:07 +0100 +0100"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02T15:04:05Z07:00', '2021-03-04T05:06:07+01:00',),
        'time.Time|"2021-03-04 05:06:07 +0100 +0100"',
        None,
    ),
    (
        'toDate', ('2006-01-02T15:04:05.999999999Z07:00', '2021-03-04T05:06:07.123456789+01:00',),
        'time.Time|"2021-03-04 05:06:07.123456789 +0100 +0100"',
        None,
    ),
    (
        'mustToDate',
        ('2006-01-02T15:04:05.999999999Z07:00', '2021-03-04T05:06:07.123456789+01:00',),
        'time.Time|"2021-03-04 05:06:07.123456789 +0100 +0100"',
        None,
    ),
    (
        'toDate', ('2006-01-02T15:04:05Z07:00', '2021-03-04T05:06:07.5Z',),
        'time.Time|"2021-03-04 05:06:07.5 +0000 UTC"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02T15:04:05Z07:00', '2021-03-04T05:06:07.5Z',),
        'time.Time|"2021-03-04 05:06:07.5 +0000 UTC"',
        None,
    ),
    ('toDate', ('15:04:05.000', '05:06:07.12',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('15:04:05.000', '05:06:07.12',),
        None,
        'parsing time "05:06:07.12" as "15:04:05.000": cannot parse ".12" as ".000"',
    ),
    (
        'toDate', ('15:04:05.000', '05:06:07.123',),
        'time.Time|"0000-01-01 05:06:07.123 -0456 LMT"',
        None,
    ),
    (
        'mustToDate', ('15:04:05.000', '05:06:07.123',),
        'time.Time|"0000-01-01 05:06:07.123 -0456 LMT"',
        None,
    ),
    (
        'toDate', ('15:04:05', '05:06:07,123456',),
        'time.Time|"0000-01-01 05:06:07.123456 -0456 LMT"',
        None,
    ),
    (
        'mustToDate', ('15:04:05', '05:06:07,123456',),
        'time.Time|"0000-01-01 05:06:07.123456 -0456 LMT"',
        None,
    ),
    ('toDate', ('3:04PM', '5:06pm',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('3:04PM', '5:06pm',),
        None,
        'parsing time "5:06pm" as "3:04PM": cannot parse "" as "PM"',
    ),
    ('toDate', ('3:04pm', '12:30am',), 'time.Time|"0000-01-01 00:30:00 -0456 LMT"', None),
    ('mustToDate', ('3:04pm', '12:30am',), 'time.Time|"0000-01-01 00:30:00 -0456 LMT"', None),
    ('toDate', ('3:04PM', '13:04PM',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    ('mustToDate', ('3:04PM', '13:04PM',), None, 'parsing time "13:04PM": hour out of range'),
    ('toDate', ('Jan 2 2006', 'MAR 4 2021',), 'time.Time|"2021-03-04 00:00:00 -0500 EST"', None),
    (
        'mustToDate', ('Jan 2 2006', 'MAR 4 2021',),
        'time.Time|"2021-03-04 00:00:00 -0500 EST"',
        None,
    ),
    (
        'toDate', ('January 2 2006', 'march 4 2021',),
        'time.Time|"2021-03-04 00:00:00 -0500 EST"',
        None,
    ),
    (
        'mustToDate', ('January 2 2006', 'march 4 2021',),
        'time.Time|"2021-03-04 00:00:00 -0500 EST"',
        None,
    ),
    ('toDate', ('Mon Jan 2', 'Thu Mar 4',), 'time.Time|"0000-03-04 00:00:00 -0456 LMT"', None),
    ('mustToDate', ('Mon Jan 2', 'Thu Mar 4',), 'time.Time|"0000-03-04 00:00:00 -0456 LMT"', None),
    ('toDate', ('002 2006', '060 2020',), 'time.Time|"2020-02-29 00:00:00 -0500 EST"', None),
    ('mustToDate', ('002 2006', '060 2020',), 'time.Time|"2020-02-29 00:00:00 -0500 EST"', None),
    ('toDate', ('002 2006', '366 2021',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('002 2006', '366 2021',),
        None,
        'parsing time "366 2021": day-of-year out of range',
    ),
    ('toDate', ('__2 2006', ' 60 2021',), 'time.Time|"2021-03-01 00:00:00 -0500 EST"', None),
    ('mustToDate', ('__2 2006', ' 60 2021',), 'time.Time|"2021-03-01 00:00:00 -0500 EST"', None),
    ('toDate', ('2006 002 01', '2021 060 02',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006 002 01', '2021 060 02',),
        None,
        'parsing time "2021 060 02": day-of-year does not match month',
    ),
    ('toDate', ('15:04', '24:00',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    ('mustToDate', ('15:04', '24:00',), None, 'parsing time "24:00": hour out of range'),
    ('toDate', ('15:04', '10:60',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    ('mustToDate', ('15:04', '10:60',), None, 'parsing time "10:60": minute out of range'),
    ('toDate', ('15:04:05', '10:00:60',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    ('mustToDate', ('15:04:05', '10:00:60',), None, 'parsing time "10:00:60": second out of range'),
    ('toDate', ('2006-01-02', '2021-03-04\n',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006-01-02', '2021-03-04\n',),
        None,
        'parsing time "2021-03-04\\x0a": extra text: "\\x0a"',
    ),
    ('toDate', ('2006-01-02', ' 2021-03-04',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006-01-02', ' 2021-03-04',),
        None,
        'parsing time " 2021-03-04" as "2006-01-02": cannot parse " 2021-03-04" as "2006"',
    ),
    ('toDate', ('2006 _2', '2021  4',), 'time.Time|"2021-01-04 00:00:00 -0500 EST"', None),
    ('mustToDate', ('2006 _2', '2021  4',), 'time.Time|"2021-01-04 00:00:00 -0500 EST"', None),
    (
        'toDate', ('2006-01-02 MST', '2021-03-04 ChST',),
        'time.Time|"2021-03-04 00:00:00 +0000 ChST"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02 MST', '2021-03-04 ChST',),
        'time.Time|"2021-03-04 00:00:00 +0000 ChST"',
        None,
    ),
    (
        'toDate', ('2006-01-02 MST', '2021-03-04 ABCDEF',),
        'time.Time|"0001-01-01 00:00:00 +0000 UTC"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02 MST', '2021-03-04 ABCDEF',),
        None,
        'parsing time "2021-03-04 ABCDEF" as "2006-01-02 MST": cannot parse "ABCDEF" as "MST"',
    ),
    (
        'toDate', ('2006-01-02 MST', '2021-03-04 WITA',),
        'time.Time|"2021-03-04 00:00:00 +0000 WITA"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02 MST', '2021-03-04 WITA',),
        'time.Time|"2021-03-04 00:00:00 +0000 WITA"',
        None,
    ),
    ('toDate', ('Z07', '+05',), 'time.Time|"0000-01-01 00:00:00 +0500 +0500"', None),
    ('mustToDate', ('Z07', '+05',), 'time.Time|"0000-01-01 00:00:00 +0500 +0500"', None),
    ('toDate', ('-07:00:00', '+05:30:15',), 'time.Time|"0000-01-01 00:00:00 +0530 +0530"', None),
    (
        'mustToDate', ('-07:00:00', '+05:30:15',),
        'time.Time|"0000-01-01 00:00:00 +0530 +0530"',
        None,
    ),
    (
        'toDate', ('2006-01-02', '\u0968\u0966\u0968\u0967-03-04',),
        'time.Time|"0001-01-01 00:00:00 +0000 UTC"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02', '\u0968\u0966\u0968\u0967-03-04',),
        None,
        'parsing time "\\xe0\\xa5\\xa8\\xe0\\xa5\\xa6\\xe0\\xa5\\xa8\\xe0\\xa5\\xa7-03-04" as "'
        '2006-01-02": cannot parse "\\xe0\\xa5\\xa8\\xe0\\xa5\\xa6\\xe0\\xa5\\xa8\\xe0\\xa5\\xa'
        '7-03-04" as "2006"',
    ),
    ('toDate', ('2006 .000', '2021 .12x',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006 .000', '2021 .12x',),
        None,
        'parsing time "2021 .12x" as "2006 .000": cannot parse "" as ".000"',
    ),
    ('toDate', ('06', '69',), 'time.Time|"1969-01-01 00:00:00 -0500 EST"', None),
    ('mustToDate', ('06', '69',), 'time.Time|"1969-01-01 00:00:00 -0500 EST"', None),
    ('toDate', ('06', '68',), 'time.Time|"2068-01-01 00:00:00 -0500 EST"', None),
    ('mustToDate', ('06', '68',), 'time.Time|"2068-01-01 00:00:00 -0500 EST"', None),
    ('toDate', ('', '',), 'time.Time|"0000-01-01 00:00:00 -0456 LMT"', None),
    ('mustToDate', ('', '',), 'time.Time|"0000-01-01 00:00:00 -0456 LMT"', None),
    ('toDate', ('', 'x',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    ('mustToDate', ('', 'x',), None, 'parsing time "x": extra text: "x"'),
    ('toDate', ('2006', '0000',), 'time.Time|"0000-01-01 00:00:00 -0456 LMT"', None),
    ('mustToDate', ('2006', '0000',), 'time.Time|"0000-01-01 00:00:00 -0456 LMT"', None),
    ('toDate', ('2006', '-001',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006', '-001',),
        None,
        'parsing time "-001" as "2006": cannot parse "-001" as "2006"',
    ),
    ('toDate', ('1/2/2006', '12/31/1999',), 'time.Time|"1999-12-31 00:00:00 -0500 EST"', None),
    ('mustToDate', ('1/2/2006', '12/31/1999',), 'time.Time|"1999-12-31 00:00:00 -0500 EST"', None),
    ('toDate', ('2006-01-02', '2021-04-31',), 'time.Time|"0001-01-01 00:00:00 +0000 UTC"', None),
    (
        'mustToDate', ('2006-01-02', '2021-04-31',),
        None,
        'parsing time "2021-04-31": day out of range',
    ),
    (
        'toDate', ('2006-01-02 15:04 MST', '2021-11-07 01:30 EDT',),
        'time.Time|"2021-11-07 01:30:00 -0400 EDT"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02 15:04 MST', '2021-11-07 01:30 EDT',),
        'time.Time|"2021-11-07 01:30:00 -0400 EDT"',
        None,
    ),
    (
        'toDate', ('2006-01-02 15:04', '2021-03-14 02:30',),
        'time.Time|"2021-03-14 01:30:00 -0500 EST"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02 15:04', '2021-03-14 02:30',),
        'time.Time|"2021-03-14 01:30:00 -0500 EST"',
        None,
    ),
    (
        'toDate', ('2006-01-02 15:04', '2021-11-07 01:30',),
        'time.Time|"2021-11-07 01:30:00 -0400 EDT"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02 15:04', '2021-11-07 01:30',),
        'time.Time|"2021-11-07 01:30:00 -0400 EDT"',
        None,
    ),
    (
        'toDate', ('2006-01-02T15:04:05Z07:00', '2021-03-04T05:06:07-04:00',),
        'time.Time|"2021-03-04 05:06:07 -0400 -0400"',
        None,
    ),
    (
        'mustToDate', ('2006-01-02T15:04:05Z07:00', '2021-03-04T05:06:07-04:00',),
        'time.Time|"2021-03-04 05:06:07 -0400 -0400"',
        None,
    ),
    (
        'toDate.Year', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'int:2021',
        None,
    ),
    (
        'toDate.Month', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'time.Month|"March"',
        None,
    ),
    (
        'toDate.Day', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'int:4',
        None,
    ),
    (
        'toDate.Hour', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'int:5',
        None,
    ),
    (
        'toDate.Minute', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'int:6',
        None,
    ),
    (
        'toDate.Second', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'int:7',
        None,
    ),
    (
        'toDate.Nanosecond', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'int:500000000',
        None,
    ),
    (
        'toDate.YearDay', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'int:63',
        None,
    ),
    (
        'toDate.Weekday', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'time.Weekday|"Thursday"',
        None,
    ),
    (
        'toDate.Unix', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'int64:1614830767',
        None,
    ),
    (
        'toDate.UnixNano', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'int64:1614830767500000000',
        None,
    ),
    (
        'toDate.UTC', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'time.Time|"2021-03-04 04:06:07.5 +0000 UTC"',
        None,
    ),
    (
        'toDate.String', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        's:"2021-03-04 05:06:07.5 +0100 +0100"',
        None,
    ),
    (
        'toDate.IsZero', ('2006-01-02 15:04:05.999 -0700', '2021-03-04 05:06:07.5 +0100',),
        'bool:false',
        None,
    ),
    ('toDate.IsZero', ('x', 'y',), 'bool:true', None),
])
def test_sprig(name: str, args: tuple[Any, ...], expected: str | None, error: str | None) -> None:
    if error is None:
        assert canon(call(name, args)) == expected
    else:
        with pytest.raises(GoError) as info:
            call(name, args)
        assert info.value.message == error


def test_names_are_sprig_names() -> None:
    from dockwright.gotemplate.sprig import ALL_NAMES

    assert set(FUNCS) <= ALL_NAMES


def test_now_has_the_shape_of_go_time_now() -> None:
    t = FUNCS["now"].fn()
    assert type_of(t) == "time.Time"
    text = t.go_string()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,9})? [+-]\d{4} \S+ "
                        r"m=\+\d+\.\d{9}", text), text
    methods = t.go_methods()
    assert methods["Unix"].fn() > 1_600_000_000
    assert methods["UTC"].fn().go_string().endswith(" +0000 UTC")  # no monotonic reading
    assert re.fullmatch(r"\d{4}", FUNCS["date"].fn("2006", None))  # not a time: now
    later = FUNCS["dateModify"].fn("1h", t)
    assert later.sec == t.sec + 3600 and " m=+" in later.go_string()


def test_unsupported_script_class_says_so() -> None:
    with pytest.raises(GoError) as info:
        FUNCS["regexMatch"].fn(r"\p{Braille}", "x")
    assert "not supported by dockwright" in info.value.message


def test_strval_and_strslice() -> None:
    from dockwright.gotemplate.sprig._convert import strslice, strval

    assert strval("x") == "x"
    assert strval(GoSlice([Uint8(104), Uint8(0xFF)], "[]uint8")) == from_go_bytes(b"h\xff")
    assert strval(T) == "2021-03-04 05:06:07.891234567 +0000 UTC"
    assert strslice(GoSlice(["a", "b"], "[]string")) == ["a", "b"]
    assert strslice(["a", None, "b"]) == ["a", "b"]
    assert strslice(None) == []


# Templates run through the engine: outputs and errors printed by Go for the same text
ENGINE_CASES = [
    (
        '{{ add 1 2 3 }} {{ add1 .i64 }} {{ sub 5 "2" }} {{ mul 2 3.5 }} {{ div 7 2 }} {{ mod -'
        '7 3 }}',
        '6 43 3 6 3 -1',
        None,
    ),
    (
        '{{ div 1 0 }}',
        None,
        'template: t:1:3: executing "t" at <div 1 0>: error calling div: runtime error: integer'
        ' divide by zero',
    ),
    (
        '{{ max 1 5 3 }} {{ min 2 "1" }} {{ maxf 1 2.5 }} {{ minf 1.5 -0.0 }} {{ ceil 1.2 }} {{'
        ' floor -1.2 }} {{ round 3.14159 2 }}',
        '5 1 2.5 -0 2 -2 3.14',
        None,
    ),
    (
        '{{ addf 0.1 0.2 }} {{ subf 1 0.9 }} {{ mulf 1.1 3 }} {{ divf 1 3 }} {{ add1f 1.5 }}',
        '0.3 0.1 3.3 0.3333333333333333 2.5',
        None,
    ),
    (
        '{{ until 5 }} {{ untilStep 0 10 3 }} {{ seq 5 }} {{ seq 1 2 10 }} {{ toDecimal "0777" '
        '}}',
        '[0 1 2 3 4] [0 3 6 9] 1 2 3 4 5 1 3 5 7 9 511',
        None,
    ),
    (
        '{{ range until 3 }}{{ . }},{{ end }}',
        '0,1,2,',
        None,
    ),
    (
        '{{ atoi "42" }} {{ int "0x1F" }} {{ int64 "9" | add1 }} {{ float64 "1.5" }} {{ float64'
        ' "1e21" }} {{ float64 1e6 }}',
        '42 31 10 1.5 1e+21 1e+06',
        None,
    ),
    (
        '{{ b64enc "h\xe9llo" }} {{ b64dec "aGVsbG8=" }} {{ b64dec "x" }} {{ b32enc "hi" }} {{ '
        'b32dec "NBUQ====" }}',
        'aMOpbGxv hello illegal base64 data at input byte 0 NBUQ==== hi',
        None,
    ),
    (
        '{{ toJson .m }} {{ toPrettyJson .m }} {{ toRawJson .ms }} {{ toJson .bytes }} {{ toJso'
        'n .t }}',
        '{"a":["x",2.5,null,true],"b":1} {\n  "a": [\n    "x",\n    2.5,\n    null,\n    true\n'
        '  ],\n  "b": 1\n} {"k":"<v>"} "aMOpbGxv" "2021-03-04T05:06:07.891234567Z"',
        None,
    ),
    (
        '{{ $x := fromJson "{\\"a\\": [1, 2.5, \\"x\\"]}" }}{{ $x.a }} {{ index $x.a 0 }} {{ ty'
        'peOf $x.a }}',
        '[1 2.5 x] 1 []interface {}',
        None,
    ),
    (
        '{{ mustFromJson "{" }}',
        None,
        'template: t:1:3: executing "t" at <mustFromJson "{">: error calling mustFromJson: unex'
        'pected end of JSON input',
    ),
    (
        '{{ toJson (list 1 2 (dict "k" "v")) }}',
        '[1,2,{"k":"v"}]',
        None,
    ),
    (
        '{{ regexMatch "^a.c$" "abc" }} {{ regexFindAll "a" "banana" -1 }} {{ regexFind "b+" "a'
        'bbbc" }} {{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}',
        'true [a a a] bbb -W-xxW-',
        None,
    ),
    (
        '{{ regexReplaceAllLiteral "a" "banana" "$1" }} {{ regexSplit "a" "banana" -1 }} {{ reg'
        'exQuoteMeta "a.b*c" }}',
        'b$1n$1n$1 [b n n ] a\\.b\\*c',
        None,
    ),
    (
        '{{ regexFind "(" "x" }}',
        None,
        'template: t:1:3: executing "t" at <regexFind "(" "x">: error calling regexFind: regexp'
        ': Compile(`(`): error parsing regexp: missing closing ): `(`',
    ),
    (
        '{{ mustRegexMatch "(" "x" }}',
        None,
        'template: t:1:3: executing "t" at <mustRegexMatch "(" "x">: error calling mustRegexMat'
        'ch: error parsing regexp: missing closing ): `(`',
    ),
    (
        '{{ base "/a/b.txt" }} {{ dir "/a/b.txt" }} {{ clean "a/../b/./c" }} {{ ext "x.tar.gz" '
        '}} {{ isAbs "/x" }} {{ osBase "" }}',
        'b.txt /a b/c .gz true .',
        None,
    ),
    (
        '{{ semver "1.2.3-beta" }} {{ (semver "v1.2.3").Major }} {{ (semver "1.2.3").Original }'
        '} {{ semverCompare "^1.2" "1.5.0" }}',
        '1.2.3-beta 1 1.2.3 true',
        None,
    ),
    (
        '{{ (semver "1.2.3").IncMinor }} {{ semver "x" }}',
        None,
        'template: t:1:35: executing "t" at <semver "x">: error calling semver: Invalid Semanti'
        'c Version',
    ),
    (
        '{{ (semver "1.2.3").LessThan (semver "1.3.0") }}',
        'true',
        None,
    ),
    (
        '{{ urlParse "https://u:p@h:8080/a?b=c#d" }} {{ (urlParse "http://h/x").host }} {{ urlJ'
        'oin (dict "scheme" "http" "host" "h" "path" "/a b") }}',
        'map[fragment:d host:h:8080 hostname:h opaque: path:/a query:b=c scheme:https userinfo:'
        'u:p] h http://h/a%20b',
        None,
    ),
    (
        '{{ sha1sum "abc" }} {{ sha256sum "abc" }} {{ adler32sum "abc" }} {{ derivePassword 1 "'
        'long" "p" "u" "s" }}',
        'a9993e364706816aba3e25717850c26c9cd0d89d ba7816bf8f01cfea414140de5dae2223b00361a396177'
        'a9cb410ff61f20015ad 38600999 Rude2$QafoJela',
        None,
    ),
    (
        '{{ date "2006-01-02 15:04:05 MST" .t }} {{ dateInZone "15:04 MST" .t "Asia/Tokyo" }} {'
        '{ htmlDate .t }} {{ date "2006" .tp }}',
        '2021-03-04 00:06:07 EST 14:06 JST 2021-03-04 2021',
        None,
    ),
    (
        '{{ date "15:04 MST" 1600000000 }} {{ date "15:04 MST" .i64 }} {{ htmlDateInZone .tz "U'
        'TC" }}',
        '08:26 EDT 19:00 EST 2021-03-04',
        None,
    ),
    (
        '{{ toDate "2006-01-02" "2021-03-04" }} {{ (toDate "2006-01-02" "2021-03-04").Year }} {'
        '{ toDate "x" "y" }}',
        '2021-03-04 00:00:00 -0500 EST 2021 0001-01-01 00:00:00 +0000 UTC',
        None,
    ),
    (
        '{{ mustToDate "2006-01-02" "2021-13-04" }}',
        None,
        'template: t:1:3: executing "t" at <mustToDate "2006-01-02" "2021-13-04">: error callin'
        'g mustToDate: parsing time "2021-13-04": month out of range',
    ),
    (
        '{{ unixEpoch .t }} {{ duration "3723" }} {{ duration .i64 }} {{ duration 60 }} {{ dura'
        'tionRound "400h" }}',
        '1614834367 1h2m3s 42s 0s 16d',
        None,
    ),
    (
        '{{ dateModify "1h30m" .t }} {{ date_modify "-1h" .t | date "15:04" }} {{ mustDateModif'
        'y "x" .t }}',
        None,
        'template: t:1:73: executing "t" at <mustDateModify "x" .t>: error calling mustDateModi'
        'fy: time: invalid duration "x"',
    ),
    (
        '{{ .t.Month }} {{ .t.Weekday }} {{ .t.YearDay }} {{ .t.UTC }} {{ .t.Format "Jan 2" }} '
        '{{ .t.Unix }}',
        'March Thursday 63 2021-03-04 05:06:07.891234567 +0000 UTC Mar 4 1614834367',
        None,
    ),
    (
        '{{ int64 .t.Month }} {{ toJson .t.Month }}',
        '3 3',
        None,
    ),
    (
        '{{ printf "%v %T" (semver "1.2.3") (semver "1.2.3") }} {{ printf "%T" .t }} {{ printf '
        '"%v" (urlParse "http://h") }}',
        '1.2.3 *semver.Version time.Time map[fragment: host:h hostname:h opaque: path: query: s'
        'cheme:http userinfo:]',
        None,
    ),
    (
        '{{ toString (semver "1.0") }} {{ list (semver "1.0") .t }}',
        '1.0.0 [1.0.0 2021-03-04 05:06:07.891234567 +0000 UTC]',
        None,
    ),
    (
        '{{ toJson (semver "1.2.3") }} {{ toJson (list .t .tz) }}',
        '"1.2.3" ["2021-03-04T05:06:07.891234567Z","2021-03-04T05:06:07+03:30"]',
        None,
    ),
    (
        '{{ eq (semver "1.2.3").Major 1 }}',
        'true',
        None,
    ),
    (
        '{{ regexSplit "" "abc" 0 }} {{ regexFindAll "x" "abc" 0 }} {{ len (regexSplit "," "a,b'
        '" -1) }}',
        '[] [] 2',
        None,
    ),
    (
        '{{ toPrettyJson (dict) }} {{ toPrettyJson (list) }} {{ toRawJson "<&>" }} {{ toJson "<'
        '&>" }}',
        '{} [] "<&>" "\\u003c\\u0026\\u003e"',
        None,
    ),
    (
        '{{ float64 "abc" }} {{ int "abc" }} {{ add1 nil }} {{ add 1 true }}',
        '0 0 1 2',
        None,
    ),
    (
        '{{ round 2.5 0 }} {{ round -2.5 0 }} {{ floor "1e3" }} {{ mulf 0.1 0.1 0.1 }}',
        '3 -3 1000 0.001',
        None,
    ),
]


ENGINE_DATA = {
    "i64": Int64(42), "i32": Int32(-7), "u8": Uint8(200), "u64": Uint64(18446744073709551615),
    "t": T, "tp": TP, "tz": TZ, "strs": GoSlice(["a", "b"], "[]string"),
    "ints": GoSlice([1, 2, 3], "[]int"), "nilv": None,
    "m": {"b": 1, "a": ["x", 2.5, None, True]}, "ms": GoMap({"k": "<v>"}, "map[string]string"),
    "bytes": GoSlice([Uint8(b) for b in "h\u00e9llo".encode()], "[]uint8"),
}


@pytest.mark.parametrize(("text", "expected", "error"), ENGINE_CASES)
def test_through_the_engine(text: str, expected: str | None, error: str | None) -> None:
    from dockwright.gotemplate.sprig import functions
    from dockwright.gotemplate.template import Templates

    templates = Templates("t", functions())
    try:
        templates.parse("t", text)
        out, err = templates.execute("t", ENGINE_DATA), None
    except Exception as exc:  # the engine's errors print as Go's
        out, err = None, str(exc)
    assert (out, err) == (expected, error)
