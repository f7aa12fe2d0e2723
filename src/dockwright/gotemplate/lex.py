"""The lexer of Go's text/template: text and actions into tokens.

The same tokens and rules as Go's ``text/template/parse/lex.go``: ``{{-`` and ``-}}`` trim
the spaces (`` \\t\\r\\n``) beside them, comments are ``{{/* ... */}}``, and an error is a
token of its own, after which nothing more is read. Positions are offsets in the Python
string (characters), lines count from 1.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from enum import IntEnum
from typing import NamedTuple, TypeAlias

from dockwright.gotemplate.strconv import go_quote


class T(IntEnum):
    ERROR = 0
    BOOL = 1
    CHAR = 2  # a printable ASCII character: ',' and the like
    CHAR_CONSTANT = 3
    COMMENT = 4
    COMPLEX = 5
    ASSIGN = 6
    DECLARE = 7
    EOF = 8
    FIELD = 9
    IDENTIFIER = 10
    LEFT_DELIM = 11
    LEFT_PAREN = 12
    NUMBER = 13
    PIPE = 14
    RAW_STRING = 15
    RIGHT_DELIM = 16
    RIGHT_PAREN = 17
    SPACE = 18
    STRING = 19
    TEXT = 20
    VARIABLE = 21
    KEYWORD = 22  # keywords follow
    BLOCK = 23
    BREAK = 24
    CONTINUE = 25
    DOT = 26
    DEFINE = 27
    ELSE = 28
    END = 29
    IF = 30
    NIL = 31
    RANGE = 32
    TEMPLATE = 33
    WITH = 34


KEYWORDS = {".": T.DOT, "block": T.BLOCK, "break": T.BREAK, "continue": T.CONTINUE,
            "define": T.DEFINE, "else": T.ELSE, "end": T.END, "if": T.IF, "range": T.RANGE,
            "nil": T.NIL, "template": T.TEMPLATE, "with": T.WITH}
SPACE = " \t\r\n"
LEFT, RIGHT = "{{", "}}"
TERMINATORS = frozenset(SPACE + ".,|:)(")


class Token(NamedTuple):
    typ: T
    pos: int
    val: str
    line: int

    def describe(self) -> str:
        """The token as Go's parser quotes it in an error."""
        if self.typ == T.EOF:
            return "EOF"
        if self.typ == T.ERROR:
            return self.val
        if self.typ > T.KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def is_alnum(ch: str) -> bool:
    """Go's isAlphaNumeric of one character: '_', a letter or a digit (categories L*, Nd)."""
    if ch.isascii():
        return ch.isalnum() or ch == "_"
    category = unicodedata.category(ch)
    return category[0] == "L" or category == "Nd"


def _u(ch: str) -> str:
    """%#U of a rune, as Go's lexer quotes a bad character."""
    code = ord(ch)
    return f"U+{code:04X} '{ch}'" if ch.isprintable() else f"U+{code:04X}"


def _has_left_trim(s: str, i: int) -> bool:
    return s.startswith("-", i) and i + 1 < len(s) and s[i + 1] in SPACE


def _has_right_trim(s: str, i: int) -> bool:
    return i + 1 < len(s) and s[i] in SPACE and s[i + 1] == "-"


class _LexError(Exception):
    pass


_State: TypeAlias = "Callable[[], _State]"


class Lexer:
    """Scans the whole input into a list of tokens (the last one is EOF or an ERROR)."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.pos = 0
        self.start = 0
        self.line = 1
        self.start_line = 1
        self.paren_depth = 0
        self.tokens: list[Token] = []

    # -- primitives, as Go's lexer has them
    def emit(self, typ: T) -> None:
        self.tokens.append(Token(typ, self.start, self.s[self.start:self.pos], self.start_line))
        self.start = self.pos
        self.start_line = self.line

    def ignore(self) -> None:
        self.line += self.s.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def next(self) -> str:
        if self.pos >= len(self.s):
            self.pos += 1  # so that backup() is symmetric at the end
            return ""
        ch = self.s[self.pos]
        self.pos += 1
        if ch == "\n":
            self.line += 1
        return ch

    def backup(self) -> None:
        self.pos -= 1
        if self.pos < len(self.s) and self.s[self.pos] == "\n":
            self.line -= 1

    def peek(self) -> str:
        return self.s[self.pos] if self.pos < len(self.s) else ""

    def accept(self, valid: str) -> bool:
        ch = self.next()
        if ch and ch in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            ch = self.next()
            if not ch or ch not in valid:
                break
        self.backup()

    def error(self, message: str) -> None:
        self.tokens.append(Token(T.ERROR, self.start, message, self.start_line))
        raise _LexError

    def at_right_delim(self) -> tuple[bool, bool]:
        s, p = self.s, self.pos
        if _has_right_trim(s, p) and s.startswith(RIGHT, p + 2):
            return True, True
        return s.startswith(RIGHT, p), False

    def at_terminator(self) -> bool:
        ch = self.peek()
        return ch == "" or ch in TERMINATORS or self.s.startswith(RIGHT, self.pos)

    # -- states
    def run(self) -> list[Token]:
        try:
            state = self.lex_text
            while True:
                state = state()
        except _LexError:
            pass
        return self.tokens

    def lex_text(self) -> _State:
        s = self.s
        x = s.find(LEFT, self.pos)
        if x < 0:
            self.pos = len(s)
            if self.pos > self.start:
                self.line += s.count("\n", self.start, self.pos)
                self.emit(T.TEXT)
            self.emit(T.EOF)
            raise _LexError
        self.pos = x
        trim = 0
        if _has_left_trim(s, x + 2):
            chunk = s[self.start:x]
            trim = len(chunk) - len(chunk.rstrip(SPACE))
        self.pos -= trim
        if self.pos > self.start:
            self.line += s.count("\n", self.start, self.pos)
            self.emit(T.TEXT)
        self.pos += trim
        self.ignore()
        return self.lex_left_delim

    def lex_left_delim(self) -> _State:
        self.pos += len(LEFT)
        trim = _has_left_trim(self.s, self.pos)
        after = 2 if trim else 0
        if self.s.startswith("/*", self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        self.emit(T.LEFT_DELIM)
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        return self.lex_inside_action

    def lex_comment(self) -> _State:
        self.pos += 2
        i = self.s.find("*/", self.pos)
        if i < 0:
            self.error("unclosed comment")
        self.pos = i + 2
        delim, trim = self.at_right_delim()
        if not delim:
            self.error("comment ends before closing delimiter")
        if trim:
            self.pos += 2
        self.pos += len(RIGHT)
        if trim:
            self.pos += _left_trim_length(self.s, self.pos)
        self.ignore()
        return self.lex_text

    def lex_right_delim(self) -> _State:
        trim = _has_right_trim(self.s, self.pos)
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(RIGHT)
        self.emit(T.RIGHT_DELIM)
        if trim:
            self.pos += _left_trim_length(self.s, self.pos)
            self.ignore()
        return self.lex_text

    def lex_inside_action(self) -> _State:
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            self.error("unclosed left paren")
        ch = self.next()
        if ch == "":
            self.error("unclosed action")
        elif ch in SPACE:
            self.backup()
            return self.lex_space
        elif ch == "=":
            self.emit(T.ASSIGN)
        elif ch == ":":
            if self.next() != "=":
                self.error("expected :=")
            self.emit(T.DECLARE)
        elif ch == "|":
            self.emit(T.PIPE)
        elif ch == '"':
            return self.lex_quote
        elif ch == "`":
            return self.lex_raw_quote
        elif ch == "$":
            return self.lex_variable
        elif ch == "'":
            return self.lex_char
        elif ch == "." and self.pos < len(self.s) and not "0" <= self.s[self.pos] <= "9":
            return self.lex_field
        elif ch in "+-." or "0" <= ch <= "9":
            self.backup()
            return self.lex_number
        elif is_alnum(ch):
            self.backup()
            return self.lex_identifier
        elif ch == "(":
            self.emit(T.LEFT_PAREN)
            self.paren_depth += 1
        elif ch == ")":
            self.emit(T.RIGHT_PAREN)
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.error(f"unexpected right paren {_u(ch)}")
        elif ch.isascii() and ch.isprintable():
            self.emit(T.CHAR)
        else:
            self.error(f"unrecognized character in action: {_u(ch)}")
        return self.lex_inside_action

    def lex_space(self) -> _State:
        spaces = 0
        while self.peek() in SPACE and self.peek() != "":
            self.next()
            spaces += 1
        s, p = self.s, self.pos - 1
        if _has_right_trim(s, p) and s.startswith(RIGHT, p + 2):
            self.backup()
            if spaces == 1:
                return self.lex_right_delim
        self.emit(T.SPACE)
        return self.lex_inside_action

    def lex_identifier(self) -> _State:
        while True:
            ch = self.next()
            if ch and is_alnum(ch):
                continue
            self.backup()
            word = self.s[self.start:self.pos]
            if not self.at_terminator():
                self.error(f"bad character {_u(ch)}")
            keyword = KEYWORDS.get(word)
            if keyword is not None and keyword > T.KEYWORD:
                self.emit(keyword)
            elif word[0] == ".":
                self.emit(T.FIELD)
            elif word in ("true", "false"):
                self.emit(T.BOOL)
            else:
                self.emit(T.IDENTIFIER)
            return self.lex_inside_action

    def lex_field(self) -> _State:
        return self._field_or_variable(T.FIELD)

    def lex_variable(self) -> _State:
        if self.at_terminator():
            self.emit(T.VARIABLE)
            return self.lex_inside_action
        return self._field_or_variable(T.VARIABLE)

    def _field_or_variable(self, typ: T) -> _State:
        if self.at_terminator():
            self.emit(T.VARIABLE if typ == T.VARIABLE else T.DOT)
            return self.lex_inside_action
        while True:
            ch = self.next()
            if not ch or not is_alnum(ch):
                self.backup()
                break
        if not self.at_terminator():
            self.error(f"bad character {_u(ch)}")
        self.emit(typ)
        return self.lex_inside_action

    def _quoted(self, quote: str, what: str) -> None:
        while True:
            ch = self.next()
            if ch == "\\":
                ch = self.next()
                if ch not in ("", "\n"):
                    continue
            if ch in ("", "\n"):
                self.error(f"unterminated {what}")
            if ch == quote:
                return

    def lex_char(self) -> _State:
        self._quoted("'", "character constant")
        self.emit(T.CHAR_CONSTANT)
        return self.lex_inside_action

    def lex_quote(self) -> _State:
        self._quoted('"', "quoted string")
        self.emit(T.STRING)
        return self.lex_inside_action

    def lex_raw_quote(self) -> _State:
        end = self.s.find("`", self.pos)
        if end < 0:
            self.error("unterminated raw quoted string")
        self.line += self.s.count("\n", self.pos, end + 1)
        self.pos = end + 1
        self.emit(T.RAW_STRING)
        return self.lex_inside_action

    def lex_number(self) -> _State:
        if not self._scan_number():
            self.error(f"bad number syntax: {go_quote(self.s[self.start:self.pos])}")
        if self.peek() in ("+", "-"):
            if not self._scan_number() or self.s[self.pos - 1] != "i":
                self.error(f"bad number syntax: {go_quote(self.s[self.start:self.pos])}")
            self.emit(T.COMPLEX)
        else:
            self.emit(T.NUMBER)
        return self.lex_inside_action

    def _scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        ch = self.peek()
        if ch and is_alnum(ch):
            self.next()
            return False
        return True


def _left_trim_length(s: str, i: int) -> int:
    j = i
    while j < len(s) and s[j] in SPACE:
        j += 1
    return j - i


def lex(text: str) -> list[Token]:
    return Lexer(text).run()
