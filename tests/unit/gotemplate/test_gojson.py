"""dockwright.gotemplate.gojson against Go 1.19's encoding/json.

Every expected value below was printed by a Go program calling sprig's mustToJson
(json.Marshal), mustToPrettyJson (json.MarshalIndent(v, "", "  ")), mustToRawJson (an
Encoder without HTML escaping) and mustFromJson (json.Unmarshal into an interface {}) in a
text/template, through a ``show`` function that prints the type and value of the result.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from dockwright.gotemplate import gojson
from dockwright.gotemplate.sprig import dates
from dockwright.gotemplate.sprig.semver import new_version
from dockwright.gotemplate.values import (
    Float32,
    GoError,
    GoMap,
    GoObject,
    GoSlice,
    Int32,
    Int64,
    Uint8,
    Uint64,
    from_go_bytes,
)
from tests.unit.gotemplate.show import canon

BAD = from_go_bytes(b"a\xffb\xe2\x82c")
U2028 = "x\u2028y\u2029z"
T = dates.make_time(2021, 3, 4, 5, 6, 7, 891234567, dates.UTC)
TP = dates.GoTime(T.sec, T.nsec, dates.UTC, pointer=True)
TZ = dates.make_time(2021, 3, 4, 5, 6, 7, 0, dates.FixedZone("XYZ", 12600))
NEG = dates.zero_time().add(-17600 * 3600 * 10**9)
SV = new_version("v1.2.3-beta")
F32S = GoSlice([Float32(1.100000023841858), Float32(1.0000000116860974e-07),
                Float32(2.9999999515319133e+21)], "[]float32")
NESTED = {"z": [], "y": {}, "x": [{"k": GoSlice([1, 2], "[]int")}]}

CALLS = {
    "mustToJson": gojson.marshal,
    "mustToPrettyJson": lambda v: gojson.marshal(v, indent="  "),
    "mustToRawJson": lambda v: gojson.marshal(v, escape_html=False),
    "mustFromJson": gojson.unmarshal,
}


@pytest.mark.parametrize(("name", "args", "expected", "error"), [
    ('mustToJson', (None,), 's:"null"', None),
    ('mustToJson', (True,), 's:"true"', None),
    ('mustToJson', (False,), 's:"false"', None),
    ('mustToJson', (0,), 's:"0"', None),
    ('mustToJson', (-42,), 's:"-42"', None),
    ('mustToJson', (Int64(42),), 's:"42"', None),
    ('mustToJson', (Uint64(18446744073709551615),), 's:"18446744073709551615"', None),
    ('mustToJson', (Uint8(200),), 's:"200"', None),
    ('mustToJson', (Int32(-7),), 's:"-7"', None),
    ('mustToJson', (0.0,), 's:"0"', None),
    ('mustToJson', (-0.0,), 's:"-0"', None),
    ('mustToJson', (1.0,), 's:"1"', None),
    ('mustToJson', (1.5,), 's:"1.5"', None),
    ('mustToJson', (0.1,), 's:"0.1"', None),
    ('mustToJson', (1e20,), 's:"100000000000000000000"', None),
    ('mustToJson', (1e21,), 's:"1e+21"', None),
    ('mustToJson', (123456789.0,), 's:"123456789"', None),
    ('mustToJson', (1e-6,), 's:"0.000001"', None),
    ('mustToJson', (1e-7,), 's:"1e-7"', None),
    ('mustToJson', (1.2345e-7,), 's:"1.2345e-7"', None),
    ('mustToJson', (-2.5e-10,), 's:"-2.5e-10"', None),
    ('mustToJson', (1e100,), 's:"1e+100"', None),
    ('mustToJson', (5e-324,), 's:"5e-324"', None),
    ('mustToJson', (1.7976931348623157e308,), 's:"1.7976931348623157e+308"', None),
    ('mustToJson', (123456789012345680000.0,), 's:"123456789012345680000"', None),
    ('mustToJson', (0.000001234,), 's:"0.000001234"', None),
    ('mustToJson', (Float32(1.5),), 's:"1.5"', None),
    ('mustToJson', (F32S,), 's:"[1.1,1e-7,3e+21]"', None),
    ('mustToJson', ('',), 's:"\\"\\""', None),
    ('mustToJson', ('plain',), 's:"\\"plain\\""', None),
    ('mustToJson', ('q"b\\s/',), 's:"\\"q\\\\\\"b\\\\\\\\s/\\""', None),
    (
        'mustToJson', ('\n\r\t\x01\x1f\x7f\b\f',),
        's:"\\"\\\\n\\\\r\\\\t\\\\u0001\\\\u001f\\x7f\\\\u0008\\\\u000c\\""',
        None,
    ),
    (
        'mustToJson', ('<a>&</a>',),
        's:"\\"\\\\u003ca\\\\u003e\\\\u0026\\\\u003c/a\\\\u003e\\""',
        None,
    ),
    (
        'mustToJson', ('h\u00e9llo \u4e16\u754c \U0001f600',),
        's:"\\"h\\u00e9llo \\u4e16\\u754c \\U0001f600\\""',
        None,
    ),
    ('mustToJson', (BAD,), 's:"\\"a\\\\ufffdb\\\\ufffd\\\\ufffdc\\""', None),
    ('mustToJson', (U2028,), 's:"\\"x\\\\u2028y\\\\u2029z\\""', None),
    ('mustToRawJson', ('<a>&</a>',), 's:"\\"<a>&</a>\\""', None),
    ('mustToRawJson', (BAD,), 's:"\\"a\\\\ufffdb\\\\ufffd\\\\ufffdc\\""', None),
    ('mustToRawJson', (U2028,), 's:"\\"x\\\\u2028y\\\\u2029z\\""', None),
    ('mustToRawJson', ({'<k>': ['&']},), 's:"{\\"<k>\\":[\\"&\\"]}"', None),
    ('mustToJson', ([],), 's:"[]"', None),
    ('mustToJson', ([1, 'a', None, [True]],), 's:"[1,\\"a\\",null,[true]]"', None),
    ('mustToJson', ({},), 's:"{}"', None),
    (
        'mustToJson', ({'b': 1, 'a': 2, 'B': 3, '': 4, '\u00e9': 5, 'aa': 6},),
        's:"{\\"\\":4,\\"B\\":3,\\"a\\":2,\\"aa\\":6,\\"b\\":1,\\"\\u00e9\\":5}"',
        None,
    ),
    ('mustToJson', ({'<k>': '&'},), 's:"{\\"\\\\u003ck\\\\u003e\\":\\"\\\\u0026\\"}"', None),
    ('mustToJson', (GoSlice(['a', 'b'], '[]string'),), 's:"[\\"a\\",\\"b\\"]"', None),
    ('mustToJson', (GoSlice([1, 2, 3], '[]int'),), 's:"[1,2,3]"', None),
    (
        'mustToJson', (GoSlice([Uint8(x) for x in 'h\u00e9llo'.encode()], '[]uint8'),),
        's:"\\"aMOpbGxv\\""',
        None,
    ),
    (
        'mustToJson', (GoMap({'k': '<v>'}, 'map[string]string'),),
        's:"{\\"k\\":\\"\\\\u003cv\\\\u003e\\"}"',
        None,
    ),
    (
        'mustToJson', (GoMap({2: 'b', 10: 'a'}, 'map[int]string'),),
        's:"{\\"10\\":\\"a\\",\\"2\\":\\"b\\"}"',
        None,
    ),
    (
        'mustToJson', (GoMap({Uint8(200): 'x', Uint8(7): 'y'}, 'map[uint8]string'),),
        's:"{\\"200\\":\\"x\\",\\"7\\":\\"y\\"}"',
        None,
    ),
    (
        'mustToJson', (GoMap({Int64(-5): 1, Int64(10): 2, Int64(3): 3}, 'map[int64]int'),),
        's:"{\\"-5\\":1,\\"10\\":2,\\"3\\":3}"',
        None,
    ),
    (
        'mustToJson', (GoMap({'a': 1}, 'map[interface {}]interface {}'),),
        None,
        'json: unsupported type: map[interface {}]interface {}',
    ),
    (
        'mustToJson', (GoMap({True: 1}, 'map[bool]int'),),
        None,
        'json: unsupported type: map[bool]int',
    ),
    ('mustToJson', ([1, math.nan],), None, 'json: unsupported value: NaN'),
    ('mustToJson', ({'x': -math.inf},), None, 'json: unsupported value: -Inf'),
    ('mustToJson', (NESTED,), 's:"{\\"x\\":[{\\"k\\":[1,2]}],\\"y\\":{},\\"z\\":[]}"', None),
    (
        'mustToPrettyJson', (NESTED,),
        's:"{\\n  \\"x\\": [\\n    {\\n      \\"k\\": [\\n        1,\\n        2\\n      ]\\n  '
        '  }\\n  ],\\n  \\"y\\": {},\\n  \\"z\\": []\\n}"',
        None,
    ),
    (
        'mustToPrettyJson', ({'a': 'x<y', 'b': [1, [2, []], {}], 'c': {'d': None}},),
        's:"{\\n  \\"a\\": \\"x\\\\u003cy\\",\\n  \\"b\\": [\\n    1,\\n    [\\n      2,\\n    '
        '  []\\n    ],\\n    {}\\n  ],\\n  \\"c\\": {\\n    \\"d\\": null\\n  }\\n}"',
        None,
    ),
    ('mustToPrettyJson', ('s',), 's:"\\"s\\""', None),
    ('mustToPrettyJson', ([],), 's:"[]"', None),
    ('mustToPrettyJson', ({},), 's:"{}"', None),
    ('mustToPrettyJson', ([[]],), 's:"[\\n  []\\n]"', None),
    ('mustToPrettyJson', ([{}],), 's:"[\\n  {}\\n]"', None),
    ('mustFromJson', ('null',), 'nil', None),
    ('mustFromJson', ('true',), 'bool:true', None),
    ('mustFromJson', ('false',), 'bool:false', None),
    ('mustFromJson', ('0',), 'float64:0x0.0p+0', None),
    ('mustFromJson', ('-0',), 'float64:-0x0.0p+0', None),
    ('mustFromJson', ('-0.0e+0',), 'float64:-0x0.0p+0', None),
    ('mustFromJson', ('12345678901234567890',), 'float64:0x1.56a95319d63e1p+63', None),
    ('mustFromJson', ('1.5E-3',), 'float64:0x1.89374bc6a7efap-10', None),
    (
        'mustFromJson', ('1e309',),
        None,
        'json: cannot unmarshal number 1e309 into Go value of type float64',
    ),
    (
        'mustFromJson', ('-1e309',),
        None,
        'json: cannot unmarshal number -1e309 into Go value of type float64',
    ),
    ('mustFromJson', ('4.9e-325',), 'float64:0x0.0p+0', None),
    ('mustFromJson', ('"abc"',), 's:"abc"', None),
    ('mustFromJson', ('"\\"\\\\\\/\\b\\f\\n\\r\\t"',), 's:"\\"\\\\/\\b\\f\\n\\r\\t"', None),
    ('mustFromJson', ('"\\u00e9\\u0041"',), 's:"\\u00e9A"', None),
    ('mustFromJson', ('"\\ud83d\\ude00"',), 's:"\\U0001f600"', None),
    ('mustFromJson', ('"\\ud83d"',), 's:"\\ufffd"', None),
    ('mustFromJson', ('"\\ude00\\ud83d"',), 's:"\\ufffd\\ufffd"', None),
    ('mustFromJson', ('"\\ud83dx"',), 's:"\\ufffdx"', None),
    ('mustFromJson', ('"\\ud83d\\u0041"',), 's:"\\ufffdA"', None),
    ('mustFromJson', ('"\u00e9"',), 's:"\\u00e9"', None),
    ('mustFromJson', ('"' + BAD + '"',), 's:"a\\ufffdb\\ufffd\\ufffdc"', None),
    ('mustFromJson', ('[]',), '[]interface {}[]', None),
    ('mustFromJson', ('{}',), 'map[string]interface {}{}', None),
    (
        'mustFromJson', (' [ 1 , [ ] , { } ] ',),
        '[]interface {}[float64:0x1.0000000000000p+0, []interface {}[], map[string]interface {}'
        '{}]',
        None,
    ),
    (
        'mustFromJson', ('{"a":1,"a":2}',),
        'map[string]interface {}{s:"a": float64:0x1.0000000000000p+1}',
        None,
    ),
    (
        'mustFromJson', ('{"a":{"b":[{"c":null}]},"d":[[[]]]}',),
        'map[string]interface {}{s:"a": map[string]interface {}{s:"b": []interface {}[map[strin'
        'g]interface {}{s:"c": nil}]}, s:"d": []interface {}[[]interface {}[[]interface {}[]]]}',
        None,
    ),
    ('mustFromJson', ('',), None, 'unexpected end of JSON input'),
    ('mustFromJson', ('   ',), None, 'unexpected end of JSON input'),
    ('mustFromJson', ('x',), None, "invalid character 'x' looking for beginning of value"),
    ('mustFromJson', ('nul',), None, "invalid character ' ' in literal null (expecting 'l')"),
    ('mustFromJson', ('nulx',), None, "invalid character 'x' in literal null (expecting 'l')"),
    ('mustFromJson', ('tru',), None, "invalid character ' ' in literal true (expecting 'e')"),
    ('mustFromJson', ('trUe',), None, "invalid character 'U' in literal true (expecting 'u')"),
    ('mustFromJson', ('fals',), None, "invalid character ' ' in literal false (expecting 'e')"),
    ('mustFromJson', ('fAlse',), None, "invalid character 'A' in literal false (expecting 'a')"),
    ('mustFromJson', ('-',), None, "invalid character ' ' in numeric literal"),
    ('mustFromJson', ('-x',), None, "invalid character 'x' in numeric literal"),
    ('mustFromJson', ('01',), None, "invalid character '1' after top-level value"),
    ('mustFromJson', ('1.',), None, "invalid character ' ' after decimal point in numeric literal"),
    (
        'mustFromJson', ('1.x',),
        None,
        "invalid character 'x' after decimal point in numeric literal",
    ),
    ('mustFromJson', ('1e',), None, "invalid character ' ' in exponent of numeric literal"),
    ('mustFromJson', ('1e+',), None, "invalid character ' ' in exponent of numeric literal"),
    ('mustFromJson', ('1ex',), None, "invalid character 'x' in exponent of numeric literal"),
    ('mustFromJson', ('.5',), None, "invalid character '.' looking for beginning of value"),
    ('mustFromJson', ('+1',), None, "invalid character '+' looking for beginning of value"),
    ('mustFromJson', ('1 2',), None, "invalid character '2' after top-level value"),
    ('mustFromJson', ('[1 2]',), None, "invalid character '2' after array element"),
    ('mustFromJson', ('[1,]',), None, "invalid character ']' looking for beginning of value"),
    ('mustFromJson', ('[,1]',), None, "invalid character ',' looking for beginning of value"),
    ('mustFromJson', ('[',), None, 'unexpected end of JSON input'),
    ('mustFromJson', ('[1',), None, 'unexpected end of JSON input'),
    ('mustFromJson', ('{"a"}',), None, "invalid character '}' after object key"),
    ('mustFromJson', ('{"a":}',), None, "invalid character '}' looking for beginning of value"),
    (
        'mustFromJson', ('{"a":1,}',),
        None,
        "invalid character '}' looking for beginning of object key string",
    ),
    (
        'mustFromJson', ('{1:2}',),
        None,
        "invalid character '1' looking for beginning of object key string",
    ),
    ('mustFromJson', ('{"a":1',), None, 'unexpected end of JSON input'),
    ('mustFromJson', ('{"a" 1}',), None, "invalid character '1' after object key"),
    (
        'mustFromJson', ('{"a":1 "b":2}',),
        None,
        'invalid character \'"\' after object key:value pair',
    ),
    ('mustFromJson', ('"abc',), None, 'unexpected end of JSON input'),
    ('mustFromJson', ('"a\tb"',), None, "invalid character '\\t' in string literal"),
    ('mustFromJson', ('"\\x"',), None, "invalid character 'x' in string escape code"),
    (
        'mustFromJson', ('"\\u12"',),
        None,
        'invalid character \'"\' in \\u hexadecimal character escape',
    ),
    (
        'mustFromJson', ('"\\u12g4"',),
        None,
        "invalid character 'g' in \\u hexadecimal character escape",
    ),
    ('mustFromJson', ('"\\',), None, "invalid character ' ' in string escape code"),
    ('mustFromJson', ('\'a\'',), None, "invalid character '\\'' looking for beginning of value"),
    ('mustFromJson', ('"a""b"',), None, 'invalid character \'"\' after top-level value'),
    ('mustFromJson', ('\u00e9',), None, "invalid character '\xc3' looking for beginning of value"),
    ('mustFromJson', ('[1]]',), None, "invalid character ']' after top-level value"),
    ('mustFromJson', ('{}}',), None, "invalid character '}' after top-level value"),
    ('mustFromJson', ('nan',), None, "invalid character 'a' in literal null (expecting 'u')"),
    ('mustFromJson', ('["\x00"]',), None, "invalid character '\\x00' in string literal"),
    ('mustFromJson', ('{"a":1}x',), None, "invalid character 'x' after top-level value"),
    ('mustFromJson', ('1}',), None, "invalid character '}' after top-level value"),
    ('mustFromJson', ('[' * 10001,), None, "invalid character '[' exceeded max depth"),
    ('mustToJson', (T,), 's:"\\"2021-03-04T05:06:07.891234567Z\\""', None),
    (
        'mustToJson', ([TZ, TP],),
        's:"[\\"2021-03-04T05:06:07+03:30\\",\\"2021-03-04T05:06:07.891234567Z\\"]"',
        None,
    ),
    (
        'mustToJson', (NEG,),
        None,
        'json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: year outside of '
        'range [0,9999]',
    ),
    (
        'mustToPrettyJson', ({'v': SV, 't': [T]},),
        's:"{\\n  \\"t\\": [\\n    \\"2021-03-04T05:06:07.891234567Z\\"\\n  ],\\n  \\"v\\": \\"'
        '1.2.3-beta\\"\\n}"',
        None,
    ),
    ('mustToJson', (SV,), 's:"\\"1.2.3-beta\\""', None),
    (
        'mustToJson', ({'a': [T, {'b': SV}]},),
        's:"{\\"a\\":[\\"2021-03-04T05:06:07.891234567Z\\",{\\"b\\":\\"1.2.3-beta\\"}]}"',
        None,
    ),
])
def test_gojson(name: str, args: tuple[Any, ...], expected: str | None,
                error: str | None) -> None:
    if error is None:
        assert canon(CALLS[name](*args)) == expected
    else:
        with pytest.raises(GoError) as info:
            CALLS[name](*args)
        assert info.value.message == error


def test_deep_nesting_is_fine_up_to_go_limit() -> None:
    # Go decodes 10000 nested arrays (its limit; one more is the error tested above).
    value = gojson.unmarshal("[" * 10000 + "]" * 10000)
    depth = 0
    while value:
        value = value[0]
        depth += 1
    assert depth == 9999


def test_from_json_keeps_what_go_decoded() -> None:
    # json.Unmarshal leaves nil where a number is out of range, and goes on.
    assert gojson.unmarshal_partial("[1, 1e400, 3]") == (
        [1.0, None, 3.0], "json: cannot unmarshal number 1e400 into Go value of type float64")


def test_marshal_json_objects() -> None:
    class Stamp(GoObject):
        gotype = "time.Time"

        def go_json(self) -> str:
            return '"2021-03-04T05:06:07Z"'

    assert gojson.marshal({"t": Stamp()}, indent="  ") == '{\n  "t": "2021-03-04T05:06:07Z"\n}'


def test_marshal_json_output_is_checked() -> None:
    class Broken(GoObject):
        gotype = "main.Broken"

        def go_json(self) -> str:
            return "{"

    with pytest.raises(GoError) as info:
        gojson.marshal([Broken()])
    assert info.value.message == (
        "json: error calling MarshalJSON for type main.Broken: unexpected end of JSON input")
