"""yaml.Marshal and yaml.Unmarshal of gopkg.in/yaml.v2 v2.4.0 (werf's toYaml and fromYaml).

PyYAML reads and writes; what is yaml.v2's own is decided here. Reading: the input is checked
as yaml.v2's reader checks it; PyYAML's scanner is adjusted where libyaml (which yaml.v2
translates) scans otherwise (tabs, ':' in flow scalars, depth limits, lazily checked simple
keys, a lost simple key); the first document becomes a node tree, decoded as yaml.v2 decodes
into a ``map[string]interface {}`` (scalar resolution, key types, merges, alias limit, type
errors); PyYAML's error messages are reworded as libyaml's, with yaml.v2's line number.
Writing: values become events (keys in yaml.v2's order, strings in the styles it asks for)
that PyYAML's emitter writes with yaml.v2's scalar analysis, style fallbacks, simple key
limit and folding. Nothing recurses: deep documents need no recursion limit.

Known approximations: bad UTF-8 and control characters are found before parsing (Go reads
512 bytes at a time: a syntax error before them may win); an empty key in a flow sequence
(``[? ]``, an error in Go) is read; the text or line of some errors differs (odd %TAG
directives, a byte order mark inside a line; a second one at the start is imitated
roughly); a tag like ``!a]!b`` is an error (in Go, a tag with the suffix ``a]!b``); a
nested map cannot hold keys that Go keeps apart (``1``, ``1.0``, ``true``): the last one
wins; keys that yaml.v2's order does not order consistently come out in one of the orders
that Go gives.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import functools
import io
import math
import re
from collections.abc import Generator, Iterator
from itertools import chain
from typing import Any, ClassVar

from dockwright.gotemplate.values import (
    MAP_ANY_ANY,
    MISSING,
    GoError,
    GoMap,
    GoObject,
    Uint64,
    from_go_bytes,
    go_bytes,
)

__all__ = ["marshal", "unmarshal_map"]

_LONG = "tag:yaml.org,2002:"
_STR, _BOOL, _INT, _FLOAT, _NULL = (_LONG + t for t in ("str", "bool", "int", "float", "null"))
_TIMESTAMP, _BINARY, _MERGE, _SEQ, _MAP = (
    _LONG + t for t in ("timestamp", "binary", "merge", "seq", "map"))
_RESOLVABLE = frozenset(("", _STR, _BOOL, _INT, _FLOAT, _NULL, _TIMESTAMP))
_INT64 = 1 << 63
_MAX_DEPTH = 10000
_BLANKZ = "\0 \t\r\n\x85\u2028\u2029"
_BREAKS = "\r\n\x85\u2028\u2029"
_LINE_END = re.compile("[\0\r\n\x85\u2028\u2029]")
_TAG_END = re.compile("[\0 \t\r\n\x85\u2028\u2029]")
_BLOCK_HEADER = re.compile(r"([-+])([0-9]?)|([0-9])([-+]?)|")

# --- resolving scalars -------------------------------------------------------------------

_WORDS: dict[str, tuple[str, Any]] = {"": (_NULL, None)}
for _words, _tag, _value in (
    ("y Y yes Yes YES true True TRUE on On ON", _BOOL, True),
    ("n N no No NO false False FALSE off Off OFF", _BOOL, False),
    ("~ null Null NULL", _NULL, None),
    (".inf .Inf .INF +.inf +.Inf +.INF", _FLOAT, math.inf),
    ("-.inf -.Inf -.INF", _FLOAT, -math.inf),
    (".nan .NaN .NAN", _FLOAT, math.nan),
):
    _WORDS.update(dict.fromkeys(_words.split(), (_tag, _value)))

_GO_INT = re.compile(r"([-+]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|(0[0-7]*)"
                     r"|([1-9][0-9]*))")
_GO_INT_BASES = (0, 0, 16, 8, 2, 8, 10)  # by the number of the group of the digits
_YAML_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_TIMESTAMP_FORM = re.compile(
    r"[0-9]{4}-([0-9]{1,2})-([0-9]{1,2})"
    r"(?:([Tt ])([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:[.,][0-9]{1,9})?"
    r"(Z|[-+](?:[0-9]{2}|[-+][0-9]):(?:[0-9]{2}|[-+][0-9]))?)?")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _short(tag: str) -> str:
    return "!!" + tag[len(_LONG):] if tag.startswith(_LONG) else tag


def _go_int(text: str, base: int = 0) -> int | None:
    """strconv.ParseInt(text, base, 64) (base 0 or 2), else ParseUint as a Uint64."""
    m = _GO_INT.fullmatch(text) if base == 0 else re.fullmatch("([-+]?)([01]+)", text)
    if not m or m.lastindex is None:
        return None
    n = int(m[m.lastindex], base or _GO_INT_BASES[m.lastindex]) * (-1 if m[1] == "-" else 1)
    if -_INT64 <= n < _INT64:
        return n
    return Uint64(n) if not m[1] and n < 1 << 64 else None


def _is_timestamp(text: str) -> bool:
    """Whether Go's time.Parse takes ``text`` in one of the formats yaml.v2 tries."""
    if not (m := _TIMESTAMP_FORM.fullmatch(text)) or not 1 <= int(m[1]) <= 12:
        return False
    days = _MONTH_DAYS[int(m[1]) - 1] + (int(m[1]) == 2 and calendar.isleap(int(text[:4])))
    if not 1 <= int(m[2]) <= days:
        return False
    return m[3] is None or (int(m[4]) < 24 and int(m[5]) < 60 and int(m[6]) < 60
                            and (m[3] == " ") == (m[7] is None))  # no zone after a space


def _resolve_text(text: str, tag: str) -> tuple[str, Any]:
    first = text[:1]
    if tag == _STR or first not in "yYnNtTfFoO~.+-0123456789":  # ("" is in any string)
        return _STR, text
    if text in _WORDS:
        rtag, value = _WORDS[text]
        return rtag, float("nan") if value is math.nan else value
    if first == ".":
        if _DOT_FLOAT.fullmatch(text) and not math.isinf(f := float(text.replace("_", ""))):
            return _FLOAT, f
    elif first in "+-0123456789":
        if tag in ("", _TIMESTAMP) and re.match("[0-9]{4}-", text) and _is_timestamp(text):
            return _TIMESTAMP, text
        plain = text.replace("_", "")
        if (n := _go_int(plain)) is not None:
            return _INT, n
        if _YAML_FLOAT.fullmatch(plain) and not math.isinf(f := float(plain)):
            return _FLOAT, f
        if plain.startswith("0b") and (n := _go_int(plain[2:], 2)) is not None:
            return _INT, n
        if plain.startswith("-0b") and (n := _go_int("-" + plain[3:], 2)) is not None:
            return _INT, n
    return _STR, text


def _resolve(tag: str, text: str) -> tuple[str, Any]:
    """The tag and value of a scalar as yaml.v2 resolves it (``tag`` is "" when implicit)."""
    if tag not in _RESOLVABLE:
        return tag, text
    rtag, value = _resolve_text(text, tag)
    if tag in ("", rtag, _STR):
        return rtag, value
    if tag == _FLOAT and rtag == _INT and type(value) is int:
        return _FLOAT, float(value)
    raise GoError(f"yaml: cannot decode {_short(rtag)} `{text}` as a {_short(tag)}")


def resolve_plain(text: str) -> Any:
    """The Go value of a plain (unquoted) scalar as yaml.v2 decodes it into an interface {}:
    a bool, int, Uint64, float, None, or the text itself (timestamps stay text)."""
    return _resolve("", text)[1]


# --- reading -----------------------------------------------------------------------------

_NOT_ALLOWED = re.compile(r"[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _utf8_problem(data: bytes, i: int) -> str:
    """Why the UTF-8 sequence at ``data[i]`` is invalid, in libyaml's words."""
    lead = data[i]
    width = 2 if lead & 0xE0 == 0xC0 else 3 if lead & 0xF0 == 0xE0 else 4
    tail = data[i + 1:i + width]
    if lead & 0xC0 == 0x80 or lead >= 0xF8:
        return "invalid leading UTF-8 octet"
    if len(tail) < width - 1:
        return "incomplete UTF-8 octet sequence"
    if any(octet & 0xC0 != 0x80 for octet in tail):
        return "invalid trailing UTF-8 octet"
    value = functools.reduce(lambda v, octet: v << 6 | octet & 0x3F, tail, lead & 0x7F >> width)
    if value < (0x80, 0x800, 0x10000)[width - 2]:
        return "invalid length of a UTF-8 sequence"
    return "invalid Unicode character"


def _utf16_problem(data: bytes) -> tuple[str, str | None]:
    """The text of UTF-16 ``data`` after its byte order mark, and what is wrong with it."""
    text = data[2:len(data) // 2 * 2].decode("utf-16-be" if data[0] == 0xFE else "utf-16-le",
                                             "surrogatepass")
    if not (bad := _NOT_ALLOWED.search(text)):
        return text, "incomplete UTF-16 character" if len(data) % 2 else None
    if not "\ud800" <= (ch := bad.group()) <= "\udfff":
        return text, "control characters are not allowed"
    if ch >= "\udc00":
        return text, "unexpected low surrogate area"
    return text, "incomplete UTF-16 surrogate pair" if bad.end() == len(text) \
        else "expected low surrogate area"


def _decode_input(text: str) -> str:
    """The characters of a Go string of YAML, checked as yaml.v2's reader checks them."""
    problem = None
    if text.startswith(("\udcff\udcfe", "\udcfe\udcff")):
        text, problem = _utf16_problem(go_bytes(text))
    elif bad := _NOT_ALLOWED.search(text):
        problem = "control characters are not allowed"
        if "\udc80" <= bad.group() <= "\udcff":  # a byte that is not UTF-8
            problem = _utf8_problem(go_bytes(text), len(go_bytes(text[:bad.start()])))
    if problem:
        raise GoError("yaml: " + problem)
    text = text.removeprefix("\ufeff")
    if text.startswith("\ufeff"):  # libyaml then skips a character of (nearly) every line
        text = "\n".join(line[1:] for line in text.split("\n"))
    return text


_MESSAGES = (  # (PyYAML's context, the start of its problem, libyaml's problem)
    ("", "found character", "found character that cannot start any token"),
    ("", "sequence entries are not", "block sequence entries are not allowed in this context"),
    ("", "mapping keys are not", "mapping keys are not allowed in this context"),
    ("", "mapping values are not", "mapping values are not allowed in this context"),
    ("", "expected '<document start>'", "did not find expected <document start>"),
    ("", "found undefined tag handle", "found undefined tag handle"),
    ("", "expected the node content", "did not find expected node content"),
    ("mapping", "expected <block end>", "did not find expected key"),
    ("", "expected <block end>", "did not find expected '-' indicator"),
    ("", "expected ',' or ']'", "did not find expected ',' or ']'"),
    ("", "expected ',' or '}'", "did not find expected ',' or '}'"),
    ("", "found unknown escape character", "found unknown escape character"),
    ("", "expected escape sequence", "did not find expected hexdecimal number"),
    ("", "found unexpected document separator", "found unexpected document indicator"),
    ("", "expected a comment or a line break", "did not find expected comment or line break"),
    ("", "expected alphabetic", "did not find expected alphabetic or numeric character"),
    ("", "expected ' '", "did not find expected whitespace or line break"),
)


def _syntax_error(err: Any, scanner: bool) -> GoError:
    """A PyYAML scanner or parser error as yaml.v2 reports libyaml's."""
    problem, context = str(err.problem or ""), str(err.context or "")
    problem = next((text for where, start, text in _MESSAGES
                    if where in context and problem.startswith(start)), problem)
    line = 0  # yaml.v2's choice: the 0-based line of the problem, + 1 for the scanner's
    if err.problem_mark is not None and err.problem_mark.line:
        line = err.problem_mark.line + scanner
    elif err.context_mark is not None:
        line = err.context_mark.line
    return GoError(f"yaml: line {line}: {problem}" if line else f"yaml: {problem}")


@functools.cache
def _loader_class() -> type[Any]:
    from yaml import tokens
    from yaml.parser import Parser, ParserError
    from yaml.reader import Reader
    from yaml.scanner import Scanner, ScannerError

    class Loader(Reader, Scanner, Parser):
        """PyYAML's reader, scanner and parser, reading as libyaml reads."""

        # libyaml's escapes: "\'" but not "\/"
        ESCAPE_REPLACEMENTS: ClassVar[dict[str, str]] = {  # type: ignore[misc]
            **{k: v for k, v in Scanner.ESCAPE_REPLACEMENTS.items() if k != "/"}, "'": "'"}

        def __init__(self, text: str) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            self.level_keys: list[int] = []  # per flow level: its last simple key's token
            self.lost_keys: set[int] = set()  # tokens of keys that libyaml lost track of

        def error(self, context: str, problem: str, mark: Any = None) -> ScannerError:
            return ScannerError(context, mark, problem, self.get_mark())

        def add_indent(self, column: Any) -> bool:
            added = Scanner.add_indent(self, column)
            if len(self.indents) > _MAX_DEPTH:
                raise self.error("while increasing indent level", "exceeded max depth of 10000")
            return added

        def scan_to_next_token(self) -> None:
            # libyaml skips tabs too, in the flow context and where no simple key may start
            while True:
                while self.peek() == " " or (self.peek() == "\t" and (
                        self.flow_level or not self.allow_simple_key)):
                    self.forward()
                if self.peek() == "#":
                    while self.peek() not in "\0" + _BREAKS:
                        self.forward()
                if self.peek() not in _BREAKS:
                    return
                self.line_break()
                if not self.flow_level:
                    self.allow_simple_key = True

        def line_break(self) -> str:
            ch = self.peek()
            self.forward(2 if self.prefix(2) == "\r\n" else 1)
            return ch if ch in "\u2028\u2029" else "\n"

        def scan_plain(self) -> Any:
            # as PyYAML's, but a ':' in the flow context ends the scalar only before a blank
            start = end = self.get_mark()
            indent = self.indent + 1
            chunks: list[str] = []
            blanks: list[str] | None = []
            while self.peek() != "#":
                length = 0
                while (ch := self.peek(length)) not in _BLANKZ and not (
                        ch == ":" and self.peek(length + 1) in _BLANKZ) and not (
                        self.flow_level and ch in ",?[]{}"):
                    length += 1
                if not length:
                    break
                self.allow_simple_key = False
                chunks += blanks or ()
                chunks.append(self.prefix(length))
                self.forward(length)
                end = self.get_mark()
                blanks = self.scan_plain_spaces(indent, start)
                if not blanks or self.peek() == "#" or (
                        not self.flow_level and self.column < indent):
                    break
            return tokens.ScalarToken("".join(chunks), True, start, end)

        def scan_plain_spaces(self, indent: Any, start_mark: Any) -> Any:
            # as PyYAML's, but tabs are blanks too (not in the indentation)
            length = 0
            while self.peek(length) in " \t":
                length += 1
            blanks = self.prefix(length)
            self.forward(length)
            if self.peek() not in _BREAKS:
                return [blanks] if blanks else []
            first = self.line_break()
            self.allow_simple_key = True
            breaks = []
            while True:
                if self.prefix(3) in ("---", "...") and self.peek(3) in _BLANKZ:
                    return None
                while self.peek() in " \t":
                    if self.peek() == "\t" and self.column < indent:
                        raise self.error("while scanning a plain scalar", "found a tab "
                                         "character that violates indentation", start_mark)
                    self.forward()
                if self.peek() not in _BREAKS:
                    break
                breaks.append(self.line_break())
            return [first, *breaks] if first != "\n" else breaks or [" "]

        def scan_flow_scalar(self, style: Any) -> Any:
            start = self.get_mark()
            try:
                token = Scanner.scan_flow_scalar(self, style)
            except (ValueError, OverflowError):  # an escape beyond U+10FFFF
                token = None
            if token is None or re.search("[\ud800-\udfff]", token.value):
                raise self.error("while parsing a quoted scalar",
                                 "found invalid Unicode character escape code", start)
            return token

        def scan_block_scalar_indicators(self, start_mark: Any) -> Any:
            # as PyYAML's, but blanks are tabs too and a comment may follow at once
            m = _BLOCK_HEADER.match(self.buffer, self.pointer)
            assert m is not None  # (it matches "" too)
            chomping, digit = m[1] or m[4], m[2] or m[3]
            if digit == "0":
                raise self.error("while scanning a block scalar",
                                 "found an indentation indicator equal to 0", start_mark)
            self.forward(m.end() - self.pointer)
            self.untab()
            return chomping == "+" if chomping else None, int(digit) if digit else None

        def untab(self, stop: re.Pattern[str] = _LINE_END) -> None:
            # libyaml's blanks, not PyYAML's: tabs up to ``stop`` become spaces
            end = stop.search(self.buffer, self.pointer)
            end_at = end.end() if end else len(self.buffer)
            if "\t" in (text := self.buffer[self.pointer:end_at]):
                self.buffer = f"{self.buffer[:self.pointer]}{text.replace(chr(9), ' ')}" \
                    f"{self.buffer[end_at:]}"

        def scan_block_scalar_indentation(self) -> Any:
            found = Scanner.scan_block_scalar_indentation(self)
            if self.peek() == "\t":  # libyaml takes no tab after a first line's indentation
                raise self.error("while scanning a block scalar", "found a tab character where"
                                 " an indentation space is expected")
            return found

        def scan_tag(self) -> Any:
            self.untab(_TAG_END)  # a tab may end a tag
            return Scanner.scan_tag(self)

        def scan_directive(self) -> Any:
            self.untab()
            token = Scanner.scan_directive(self)
            if token.name not in ("YAML", "TAG"):
                raise ScannerError(None, None, "found unknown directive name", token.start_mark)
            if token.name == "YAML" and token.value != (1, 1):
                raise ParserError(None, None, "found incompatible YAML document",
                                  token.start_mark)
            return token

        def fetch_stream_end(self) -> None:
            if self.column:  # libyaml ends the last line first
                self.line += 1
                self.column = 0
            Scanner.fetch_stream_end(self)

        # yaml.v2 checks that a possible simple key is still on its line and within 1024
        # characters only where it is used: for the next token to parse, and at a ':'.
        # The keys are in the order of their levels, which is also the order of their
        # tokens: the first one not lost is the only one that may be the next token's.
        def stale_possible_simple_keys(self) -> None:
            pass

        def need_more_tokens(self) -> bool:
            if not self.tokens:
                return not self.done
            for level, key in self.possible_simple_keys.items():
                if key.token_number not in self.lost_keys:
                    return key.token_number == self.tokens_taken and self.valid_key(level)
            return False

        def valid_key(self, level: int) -> bool:
            key = self.possible_simple_keys[level]
            if key.line == self.line and self.index - key.index <= 1024:
                return True
            if key.required:
                raise self.error("while scanning a simple key", "could not find expected ':'",
                                 key.mark)
            del self.possible_simple_keys[level]
            return False

        def save_possible_simple_key(self) -> None:
            Scanner.save_possible_simple_key(self)
            key = self.possible_simple_keys.get(self.flow_level)
            if self.level_keys and key is not None:
                self.level_keys[-1] = key.token_number

        def fetch_flow_collection_start(self, token_class: Any) -> None:
            if self.flow_level >= _MAX_DEPTH:
                raise self.error("while increasing flow level", "exceeded max depth of 10000")
            Scanner.fetch_flow_collection_start(self, token_class)
            self.level_keys.append(self.tokens_taken + len(self.tokens) - 1)

        def fetch_flow_collection_end(self, token_class: Any) -> None:
            # libyaml loses the simple key of an empty collection: the parser may take the
            # collection before the ':' that makes it a key is seen (then see fetch_value)
            if self.level_keys:
                key = self.possible_simple_keys.get(self.flow_level - 1)
                if key is not None and key.token_number == self.level_keys.pop():
                    self.lost_keys.add(key.token_number)
            Scanner.fetch_flow_collection_end(self, token_class)

        def fetch_value(self) -> None:
            level = self.flow_level
            key = self.possible_simple_keys.get(level) if level in self.possible_simple_keys \
                and self.valid_key(level) else None
            if key is None or key.token_number not in self.lost_keys \
                    or key.token_number >= self.tokens_taken:
                Scanner.fetch_value(self)
                return
            # its tokens are parsed already: libyaml appends KEY (and BLOCK-MAPPING-START)
            del self.possible_simple_keys[level]
            self.tokens.append(tokens.KeyToken(key.mark, key.mark))
            if not level and self.add_indent(key.column):
                self.tokens.append(tokens.BlockMappingStartToken(key.mark, key.mark))
            self.allow_simple_key = False
            start = self.get_mark()
            self.forward()
            self.tokens.append(tokens.ValueToken(start, self.get_mark()))

    return Loader


class _Node:
    """A node of the first document: "scalar", "seq", "map" or "alias" (of ``target``)."""

    __slots__ = ("children", "implicit", "kind", "line", "tag", "target", "value")

    def __init__(self, kind: str, line: int, value: str = "", tag: str = "",
                 implicit: bool = False, target: _Node | None = None) -> None:
        self.kind, self.line, self.value, self.tag = kind, line, value, tag
        self.implicit, self.target = implicit, target
        self.children: list[_Node] = []


def _compose(text: str) -> _Node | None:
    """The node tree of the first document of ``text`` (None when there is none)."""
    from yaml import events
    from yaml.error import MarkedYAMLError
    from yaml.scanner import ScannerError

    loader = _loader_class()(text)
    try:
        loader.get_event()
        if isinstance(loader.get_event(), events.StreamEndEvent):
            return None
        anchors: dict[str, _Node] = {}
        stack: list[_Node] = []
        root: _Node | None = None
        while root is None or stack:
            event = loader.get_event()
            if isinstance(event, events.CollectionEndEvent):
                stack.pop()
                continue
            line = event.start_mark.line
            name = event.anchor or ""
            if isinstance(event, events.AliasEvent):
                if name not in anchors:
                    raise GoError(f"yaml: unknown anchor '{name}' referenced")
                node = _Node("alias", line, name, target=anchors[name])
            elif isinstance(event, events.ScalarEvent):
                node = _Node("scalar", line, event.value, event.tag or "", event.implicit[0])
            else:
                node = _Node("seq" if isinstance(event, events.SequenceStartEvent) else "map",
                             line)
            if event.anchor is not None and node.target is None:
                anchors[name] = node
            if stack:
                stack[-1].children.append(node)
            else:
                root = node
            if node.kind in ("seq", "map"):
                stack.append(node)
        loader.get_event()
        return root
    except MarkedYAMLError as err:
        raise _syntax_error(err, isinstance(err, ScannerError)) from None


# --- decoding ----------------------------------------------------------------------------

_IFACE, _STRING = "interface {}", "string"  # what a node is decoded into (or else a map)
_BAD = object()
_Request = tuple[_Node, Any]


class _Decoder:
    """Decodes nodes as yaml.v2 does into an ``interface {}``, a ``string`` (a top-level
    key) or into a given map (the document's, or the one a merge adds to)."""

    def __init__(self) -> None:
        self.decodes = 1  # the document node
        self.aliased = self.alias_depth = 0
        self.expanding: set[int] = set()
        self.errors: list[str] = []

    def run(self, node: _Node, into: Any) -> Any:
        stack = [self.decode(node, into)]
        result: Any = None
        while stack:
            try:
                request = stack[-1].send(result)
            except StopIteration as done:
                stack.pop()
                result = done.value
                continue
            stack.append(self.decode(*request))
            result = None
        return result

    def decode(self, node: _Node, into: Any) -> Generator[_Request, Any, Any]:
        self.decodes += 1
        self.aliased += self.alias_depth > 0
        n = self.decodes  # the share of alias expansions allowed falls from 99% to 10%
        allowed = 0.99 if n <= 400_000 else 0.10 if n >= 4_000_000 \
            else 0.99 - 0.89 * (n - 400_000) / 3_600_000
        if self.aliased > 100 and n > 1000 and self.aliased / n > allowed:
            raise GoError("yaml: document contains excessive aliasing")
        if node.target is not None:
            if id(node) in self.expanding:
                raise GoError(f"yaml: anchor '{node.value}' value contains itself")
            self.expanding.add(id(node))
            self.alias_depth += 1
            result = yield node.target, into
            self.alias_depth -= 1
            self.expanding.discard(id(node))
            return result
        if node.kind == "scalar":
            return self.scalar(node, into)
        if node.kind == "seq":
            if into is not _IFACE:
                return self.type_error(node, _SEQ, into)
            items = []
            for child in node.children:
                items.append((yield child, _IFACE))
            return items
        if into is _STRING:
            return self.type_error(node, _MAP, into)
        out = GoMap((), MAP_ANY_ANY) if into is _IFACE else into
        pairs = node.children
        for key, value in zip(pairs[::2], pairs[1::2], strict=True):
            if key.kind == "scalar" and key.value == "<<" and (key.implicit or key.tag == _MERGE):
                yield from self.merge(value, out)
                continue
            k = yield key, _STRING if type(out) is dict else _IFACE
            if k is _BAD:
                continue
            if isinstance(k, list | dict):
                from dockwright.gotemplate.gofmt import sprintf

                raise GoError("yaml: invalid map key: " + sprintf("%#v", k))
            out[k] = yield value, _IFACE
        return out

    def merge(self, node: _Node, out: dict[Any, Any]) -> Generator[_Request, Any, None]:
        """Adds the entries of a map, or of a sequence of maps (the first ones win)."""
        merged = reversed(node.children) if node.kind == "seq" else (node,)
        for child in merged:
            if (child.target or child).kind != "map":
                raise GoError("yaml: map merge requires map or sequence of maps as the value")
            yield child, out

    def scalar(self, node: _Node, into: Any) -> Any:
        if node.tag == "" and not node.implicit:
            tag, value = _STR, node.value
        else:
            tag, value = _resolve(node.tag, node.value)
            if tag == _BINARY:
                value = _decode_base64(value)
        if value is None:
            return "" if into is _STRING else None
        if into is _IFACE:
            return node.value if tag == _TIMESTAMP else value
        if into is _STRING:
            return value if tag == _BINARY else node.value
        return self.type_error(node, tag, into)

    def type_error(self, node: _Node, tag: str, into: Any) -> Any:
        tag = node.tag or tag
        shown = ""
        if tag not in (_SEQ, _MAP):
            data = go_bytes(node.value)
            shown = f" `{from_go_bytes(data[:7]) + '...' if len(data) > 10 else node.value}`"
        into = "map[string]interface {}" if isinstance(into, dict) else into
        self.errors.append(f"line {node.line + 1}: cannot unmarshal {_short(tag)}{shown} "
                           f"into {into}")
        return _BAD


def _decode_base64(text: str) -> str:
    data = re.sub("[\r\n]", "", text).encode("ascii", "replace")
    try:
        if len(data) % 4 == 0:
            return from_go_bytes(binascii.a2b_base64(data, strict_mode=True))
    except binascii.Error:
        pass
    raise GoError("yaml: !!binary value contains invalid base64 data")


def unmarshal_map(text: str) -> dict[str, Any]:
    """yaml.Unmarshal of ``text`` into a ``map[string]interface {}``: its first document."""
    root = _compose(_decode_input(text))
    top: dict[str, Any] = {}
    if root is None:
        return top
    decoder = _Decoder()
    result = decoder.run(root, top)
    if decoder.errors:
        raise GoError("yaml: unmarshal errors:\n  " + "\n  ".join(decoder.errors))
    return top if result is top else {}  # a null document


# --- writing -----------------------------------------------------------------------------

_KINDS = ("bool", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16",
          "uint32", "uint64", "uintptr", "float32", "float64")


def _kind(value: Any) -> int:
    """The number of the reflect.Kind of a map key, for yaml.v2's order of kinds."""
    if isinstance(value, bool | int | float):
        gotype = getattr(value, "gotype", type(value).__name__.replace("float", "float64"))
        return _KINDS.index(gotype) + 1
    if value is None:
        return 20  # a nil interface
    return 24 if isinstance(value, str) else 23 if isinstance(value, list) else 21


def _digits(runes: str, i: int, n: int) -> tuple[int, int]:
    """The number of the digit run at ``runes[i:]`` (after ``n``, wrapping at 64 bits)."""
    while i < len(runes) and runes[i].isdecimal():
        n = (n * 10 + ord(runes[i]) - 48 + _INT64) % (1 << 64) - _INT64
        i += 1
    return n, i


def _key_less(a: Any, b: Any) -> bool:
    """yaml.v2's key order: numbers (and bools) by value, then kinds, strings naturally."""
    ak, bk = _kind(a), _kind(b)
    if isinstance(a, bool | int | float) and isinstance(b, bool | int | float):
        if float(a) != float(b):
            return float(a) < float(b)
        return ak < bk if ak != bk else bool(a < b)
    if ak != 24 or bk != 24:
        return ak < bk
    x: str
    y: str
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x == y:
            continue
        if x.isalpha() or y.isalpha():
            return x < y if x.isalpha() and y.isalpha() else y.isalpha()
        j, start = i - 1, 0  # a run of digits after a non-zero digit counts whole
        if "0" in (x, y):
            while j >= 0 and a[j].isdecimal() and a[j] == "0":
                j -= 1
            start = int(j >= 0 and a[j].isdecimal())
        (an, ai), (bn, bi) = _digits(a, i, start), _digits(b, i, start)
        if an != bn:
            return an < bn
        return ai < bi if ai != bi else x < y
    return len(a) < len(b)


def _sorted_keys(keys: list[Any]) -> list[Any]:
    if len(keys) > 12:
        return sorted(keys, key=functools.cmp_to_key(
            lambda a, b: -1 if _key_less(a, b) else int(_key_less(b, a))))
    for i in range(1, len(keys)):  # as Go sorts a few keys (the order is not always
        j = i                       # transitive: this gives one of Go's possible orders)
        while j and _key_less(keys[j], keys[j - 1]):
            keys[j - 1], keys[j] = keys[j], keys[j - 1]
            j -= 1
    return keys


def _scalar(value: Any) -> tuple[str, str, str | None]:
    """The text, requested style ('' plain, '"', '|') and tag of a scalar value."""
    if value is None or value is MISSING:
        return "null", "", None
    if isinstance(value, bool):
        return "true" if value else "false", "", None
    if isinstance(value, int):
        return str(int(value)), "", None
    if isinstance(value, float):
        from dockwright.gotemplate.gofmt import sprint

        text = sprint(value)
        return {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(text, text), "", None
    if not isinstance(value, str):
        raise GoError(f"cannot marshal type: {getattr(value, 'gotype', type(value).__name__)}")
    if re.search("[\ud800-\udfff]", value):  # not UTF-8: base64, 70 columns a line
        encoded = base64.b64encode(go_bytes(value)).decode("ascii")
        lines = [encoded[i:i + 70] + "\n" for i in range(0, len(encoded), 70)]
        text = "".join(lines) if len(encoded) >= 70 else encoded
        return text, "|" if "\n" in text else "", _BINARY
    plain = _resolve_text(value, "")[0] == _STR and not _BASE60.fullmatch(value)  # reads back
    return value, "|" if "\n" in value else "" if plain else '"', None


def _events(value: Any) -> Iterator[Any]:
    from yaml import events

    yield events.StreamStartEvent()
    yield events.DocumentStartEvent(explicit=False)
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack:
        item = next(stack[-1], _BAD)
        if item is _BAD:
            stack.pop()
        elif isinstance(item, events.Event):
            yield item
        elif isinstance(item, dict | GoObject):
            fields = [(k.lower(), v) for k, v in item.go_fields().items()] \
                if isinstance(item, GoObject) else [(k, item[k]) for k in _sorted_keys(list(item))]
            yield events.MappingStartEvent(None, None, True, flow_style=False)
            stack.append(chain(chain.from_iterable(fields), (events.MappingEndEvent(),)))
        elif isinstance(item, list):
            yield events.SequenceStartEvent(None, None, True, flow_style=False)
            stack.append(chain(item, (events.SequenceEndEvent(),)))
        else:
            text, style, tag = _scalar(item)
            yield events.ScalarEvent(None, tag, (tag is None, tag is None), text, style=style)
    yield events.DocumentEndEvent(explicit=False)
    yield events.StreamEndEvent()


_ESCAPES = {"\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f",
            "\r": "r", "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_",
            "\u2028": "L", "\u2029": "P"}
_UNESCAPED = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe"
                        r"\uff00-\ufffd]")


def _escape(ch: str) -> str:
    code = ord(ch)
    return "\\" + _ESCAPES[ch] if ch in _ESCAPES else f"\\x{code:02X}" if code <= 0xFF \
        else f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


@functools.cache
def _emitter_class() -> type[Any]:
    from yaml import events
    from yaml.emitter import Emitter, ScalarAnalysis

    class GoEmitter(Emitter):
        """PyYAML's emitter, with the choices of yaml.v2's."""

        def analyze_scalar(self, scalar: str) -> ScalarAnalysis:
            analysis = Emitter.analyze_scalar(self, scalar)
            if re.search(r"[\x85\U00010000-\U0010ffff]", scalar):  # not printable for libyaml
                analysis.allow_flow_plain = analysis.allow_block_plain = False
                analysis.allow_single_quoted = analysis.allow_block = False
            analysis.multiline = analysis.multiline or "\r" in scalar
            return analysis

        def check_empty_document(self) -> bool:
            return False

        def check_simple_key(self) -> bool:
            event = self.event
            if not isinstance(event, events.ScalarEvent):
                return self.check_empty_sequence() or self.check_empty_mapping()
            self.analysis = self.analysis or self.analyze_scalar(event.value)
            if event.tag is not None:
                self.prepared_tag = self.prepared_tag or self.prepare_tag(event.tag)
            length = len(go_bytes(event.value)) + len(self.prepared_tag or "")
            return not self.analysis.multiline and length <= 128

        def choose_scalar_style(self) -> str:
            assert isinstance(self.event, events.ScalarEvent)
            self.analysis = analysis = self.analysis or self.analyze_scalar(self.event.value)
            flow, key = self.flow_level > 0, self.simple_key_context
            style = '"' if key and analysis.multiline else self.event.style or ""
            if style == "" and (not (analysis.allow_flow_plain if flow
                                     else analysis.allow_block_plain)
                                or (not analysis.scalar and (flow or key))):
                style = "'"
            if style == "'" and not analysis.allow_single_quoted:
                style = '"'
            return '"' if style == "|" and (not analysis.allow_block or flow or key) else style

        def write_double_quoted(self, text: str, split: bool = True) -> None:
            # a line break is a folded space; a space after it is escaped; if the text
            # starts with a byte order mark, yaml.v2 escapes every character
            self.write_indicator('"', True)
            escape_all, spaces, chunk = text.startswith("\ufeff"), False, []
            for i, ch in enumerate(text):
                if ch != " " or escape_all:
                    chunk.append(ch if not escape_all and _UNESCAPED.match(ch) else _escape(ch))
                    spaces = False
                    continue
                self.write_text("".join(chunk))
                chunk.clear()
                if split and not spaces and self.column > self.best_width and 0 < i < len(text) - 1:
                    self.write_indent()
                    self.write_text("\\" if text[i + 1] == " " else "")
                else:
                    self.write_text(" ")
                spaces = True
            self.write_text("".join(chunk))
            self.write_indicator('"', False)

        def write_single_quoted(self, text: str, split: bool = True) -> None:
            # as PyYAML's, but without an indentation after a break that ends the text
            self.write_indicator("'", True)
            spaces = breaks = False
            for i, ch in enumerate(text):
                if ch == " ":
                    if split and not spaces and self.column > self.best_width \
                            and 0 < i < len(text) - 1 and text[i + 1] != " ":
                        self.write_indent()
                    else:
                        self.write_text(" ")
                    spaces = True
                elif ch in "\u2028\u2029":  # (the only breaks left for this style)
                    self.write_line_break(ch)
                    breaks = True
                else:
                    if breaks:
                        self.write_indent()
                    self.write_text("''" if ch == "'" else ch)
                    spaces = breaks = False
            self.write_indicator("'", False)

        def write_text(self, text: str) -> None:
            self.stream.write(text)
            self.column += len(text)

    return GoEmitter


def marshal(value: Any) -> str:
    """yaml.Marshal of ``value``: the YAML text, ending with a newline."""
    stream = io.StringIO()
    emitter = _emitter_class()(stream, allow_unicode=True)
    for event in _events(value):
        emitter.open_ended = False  # yaml.v2 never ends its one document with "..."
        emitter.emit(event)
    return stream.getvalue()
