"""Go values as text/template sees them, in Python.

The common Go types are plain Python values, so that most code never sees a wrapper:

    Go                        Python
    string                    str (Go's bytes are the UTF-8 encoding, invalid bytes kept
                              as surrogates: ``go_bytes``/``from_go_bytes``)
    bool                      bool
    int                       int (exactly ``int``: a subclass is another Go type)
    float64                   float
    []interface {}            list
    map[string]interface {}   dict
    nil (in an interface)     None
    an invalid reflect.Value  MISSING (a missing map key: prints "<no value>")

Every other type carries its Go name in ``gotype``: ``Int64(3)``, ``Uint8(97)``,
``GoSlice(["a"], "[]string")``, ``GoMap({...}, "map[string]string")``, ``GoObject``
subclasses for structs and pointers with methods. Type names are spelled as Go's ``%T``
prints them ("interface {}" with the space), so they are also what error messages show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

# Type names, as %T prints them.
ANY = "interface {}"
BOOL = "bool"
STRING = "string"
INT = "int"
INT64 = "int64"
INT32 = "int32"
UINT8 = "uint8"
FLOAT64 = "float64"
REFLECT_VALUE = "reflect.Value"
ERROR = "error"
SLICE_ANY = "[]interface {}"
SLICE_STRING = "[]string"
SLICE_INT = "[]int"
MAP_ANY = "map[string]interface {}"
MAP_STRING = "map[string]string"
MAP_ANY_ANY = "map[interface {}]interface {}"

INT_TYPES = ("int", "int8", "int16", "int32", "int64")
UINT_TYPES = ("uint", "uint8", "uint16", "uint32", "uint64", "uintptr")
FLOAT_TYPES = ("float32", "float64")
COMPLEX_TYPES = ("complex64", "complex128")
_BITS = {"int": 64, "int8": 8, "int16": 16, "int32": 32, "int64": 64, "uint": 64, "uint8": 8,
         "uint16": 16, "uint32": 32, "uint64": 64, "uintptr": 64}


class _Missing:
    """An invalid reflect.Value: what a missing map key or a field of nothing gives."""

    _instance: ClassVar[_Missing | None] = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING = _Missing()


class GoError(Exception):
    """A Go function returned a non-nil error (or panicked): its ``Error()`` text. ``inner``
    is the failure of a template the function ran (an ``execute.ExecError``), when that is
    what failed: errors can then say where in that template."""

    def __init__(self, message: str, inner: Exception | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.inner = inner


# --- integers and floats of other types than int and float64 -------------------------------

class GoInt(int):
    """An integer of a Go type other than ``int``; arithmetic on it gives plain ints."""

    gotype: ClassVar[str] = "int"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"


def _int_type(name: str) -> type[GoInt]:
    return type(name.capitalize(), (GoInt,), {"gotype": name, "__slots__": ()})


Int8 = _int_type("int8")
Int16 = _int_type("int16")
Int32 = _int_type("int32")
Int64 = _int_type("int64")
Uint = _int_type("uint")
Uint8 = _int_type("uint8")
Uint16 = _int_type("uint16")
Uint32 = _int_type("uint32")
Uint64 = _int_type("uint64")
Uintptr = _int_type("uintptr")
INT_CLASSES: dict[str, type[GoInt]] = {c.gotype: c for c in (
    Int8, Int16, Int32, Int64, Uint, Uint8, Uint16, Uint32, Uint64, Uintptr)}


class Float32(float):
    gotype: ClassVar[str] = "float32"


def wrap_int(value: int, gotype: str) -> int:
    """``value`` as Go's ``gotype`` would hold it: wrapped to the type's width and sign."""
    bits = _BITS[gotype]
    mask = (1 << bits) - 1
    value &= mask
    if gotype in INT_TYPES and value >> (bits - 1):
        value -= 1 << bits
    return value if gotype == "int" else INT_CLASSES[gotype](value)


# --- slices, maps, structs ---------------------------------------------------------------

class GoSlice(list[Any]):
    """A slice whose type is not ``[]interface {}`` (``[]string``, ``[]int``, ...)."""

    __slots__ = ("gotype",)

    def __init__(self, items: Any = (), gotype: str = SLICE_ANY) -> None:
        super().__init__(items)
        self.gotype = gotype


class GoMap(dict[Any, Any]):
    """A map whose type is not ``map[string]interface {}``."""

    __slots__ = ("gotype",)

    def __init__(self, items: Any = (), gotype: str = MAP_ANY) -> None:
        super().__init__(items)
        self.gotype = gotype


@dataclass(frozen=True, slots=True)
class Func:
    """A Go function as the template engine calls it.

    ``params`` are the Go types of the fixed parameters, ``variadic`` the element type of a
    final ``...T`` parameter. The engine checks and converts every argument as Go's
    ``evalArg`` does before ``fn`` sees it: an ``interface {}`` parameter gets None for a
    missing value, a ``reflect.Value`` parameter gets the value as it is (MISSING included).
    ``fn`` returns a Python value that the engine converts to ``result`` (an int result for
    ``int64`` becomes ``Int64``, a list for ``[]string`` a ``GoSlice``); it raises
    ``GoError`` where the Go function returns an error or panics (``errors`` says that the
    Go signature has the error result; a panic is possible either way).
    """

    fn: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None
    result: str = ANY
    errors: bool = False


class GoObject:
    """A struct or pointer value with fields and methods (werf's ``.Files``, a URL...).

    ``go_methods`` name the methods a template can call; ``go_fields`` the exported fields
    in declaration order (fmt prints them in that order). ``go_string`` is the value's
    ``String()`` or ``Error()`` when it has one, for fmt.
    """

    gotype: str = "struct {}"

    def go_methods(self) -> dict[str, Func]:
        return {}

    def go_fields(self) -> dict[str, Any]:
        return {}

    def go_string(self) -> str | None:
        return None

    def go_deref(self) -> Any:
        """For a pointer, the value it points to (Go dereferences a ``*T`` given where a
        ``T`` is expected); None otherwise."""
        return None


# --- types and kinds ---------------------------------------------------------------------

def type_of(value: Any) -> str:
    """The Go type of ``value`` as %T prints it ("<nil>" for nil)."""
    t = type(value)
    if t is str:
        return STRING
    if t is bool:
        return BOOL
    if t is int:
        return INT
    if t is float:
        return FLOAT64
    if t is list:
        return SLICE_ANY
    if t is dict:
        return MAP_ANY
    if value is None or value is MISSING:
        return "<nil>"
    gotype = getattr(value, "gotype", None)
    if isinstance(gotype, str):
        return gotype
    raise TypeError(f"not a Go value: {value!r}")


def kind_of_type(gotype: str) -> str:
    """reflect.Kind's name for a type name: "slice", "map", "ptr", "struct", "int"..."""
    if gotype in INT_TYPES or gotype in UINT_TYPES or gotype in FLOAT_TYPES \
            or gotype in COMPLEX_TYPES or gotype in (BOOL, STRING):
        return gotype
    if gotype.startswith("[]"):
        return "slice"
    if gotype.startswith("["):
        return "array"
    if gotype.startswith("map["):
        return "map"
    if gotype.startswith("*"):
        return "ptr"
    if gotype.startswith("func("):
        return "func"
    if gotype.startswith("chan ") or gotype.startswith("<-chan") or gotype.startswith("chan<-"):
        return "chan"
    if gotype.startswith("interface {") or gotype == ERROR:
        return "interface"
    return "struct"


def kind_of(value: Any) -> str:
    """reflect.Kind's name for a value ("invalid" for nil and MISSING)."""
    if value is None or value is MISSING:
        return "invalid"
    return kind_of_type(type_of(value))


def elem_type(gotype: str) -> str:
    """The element type of a slice, array, pointer or map type."""
    if gotype.startswith("[]"):
        return gotype[2:]
    if gotype.startswith("*"):
        return gotype[1:]
    if gotype.startswith("["):
        return gotype[gotype.index("]") + 1:]
    if gotype.startswith("map["):
        return gotype[_map_key_end(gotype) + 1:]
    raise ValueError(f"{gotype} has no element type")


def key_type(gotype: str) -> str:
    """The key type of a map type."""
    return gotype[4:_map_key_end(gotype)]


def _map_key_end(gotype: str) -> int:
    depth = 0
    for i in range(3, len(gotype)):
        if gotype[i] == "[":
            depth += 1
        elif gotype[i] == "]":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError(f"bad map type {gotype}")


def can_be_nil(gotype: str) -> bool:
    """Whether an untyped nil can be given where ``gotype`` is expected (Go's canBeNil)."""
    return gotype == REFLECT_VALUE or kind_of_type(gotype) in (
        "chan", "func", "interface", "map", "ptr", "slice")


def zero(gotype: str) -> Any:
    """Go's zero value of ``gotype`` (a nil slice or map is an empty one here)."""
    if gotype == INT:
        return 0
    if gotype in INT_CLASSES:
        return INT_CLASSES[gotype](0)
    if gotype == FLOAT64:
        return 0.0
    if gotype == "float32":
        return Float32(0.0)
    if gotype == STRING:
        return ""
    if gotype == BOOL:
        return False
    kind = kind_of_type(gotype)
    if kind == "slice":
        return [] if gotype == SLICE_ANY else GoSlice((), gotype)
    if kind == "map":
        return {} if gotype == MAP_ANY else GoMap((), gotype)
    return None


def assignable(value: Any, gotype: str) -> bool:
    """Whether ``value`` (not None or MISSING) can be passed where ``gotype`` is expected."""
    return gotype == ANY or type_of(value) == gotype


def convert(value: Any, gotype: str) -> Any:
    """A Python result made a value of ``gotype`` (what a Go function's result type says)."""
    if gotype in (ANY, REFLECT_VALUE) or value is None or value is MISSING:
        return value
    if gotype == INT or gotype in INT_CLASSES:
        return value if type(value) is int and gotype == INT else wrap_int(int(value), gotype)
    if gotype == FLOAT64:
        return float(value)
    if gotype == "float32":
        return Float32(value)
    if gotype == STRING:
        return str(value)
    if gotype == BOOL:
        return bool(value)
    if gotype.startswith("[]"):
        if gotype == SLICE_ANY:
            return value if type(value) is list else list(value)
        return value if isinstance(value, GoSlice) and value.gotype == gotype \
            else GoSlice(value, gotype)
    if gotype.startswith("map["):
        if gotype == MAP_ANY:
            return value if type(value) is dict else dict(value)
        return value if isinstance(value, GoMap) and value.gotype == gotype \
            else GoMap(value, gotype)
    return value


# --- Go strings are bytes ----------------------------------------------------------------

def go_bytes(s: str) -> bytes:
    """The bytes of a Go string held as ``s``."""
    return s.encode("utf-8", "surrogateescape")


def from_go_bytes(b: bytes) -> str:
    """A Go string of bytes ``b`` (invalid UTF-8 kept as surrogates, written back as is)."""
    return b.decode("utf-8", "surrogateescape")


def go_len(s: str) -> int:
    """len(s) in Go: bytes, not characters."""
    return len(s) if s.isascii() else len(go_bytes(s))
