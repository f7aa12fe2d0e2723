"""sprig v3.2.3's text functions (``sprig.TxtFuncMap``), as werf exposes them.

Each family module has ``FUNCS: dict[str, Func]``. A sprig function that no family
implements yet still exists (templates that name it parse, as with Go), but calling it is an
error that names it: never an empty string.
"""

from __future__ import annotations

import importlib

from dockwright.gotemplate.values import Func, GoError

FAMILIES = ("strings", "lists", "dicts", "defaults", "numeric", "conversion", "encoding",
            "regex", "paths", "reflection", "semver", "urls", "crypto", "dates", "flow")

# Every name in sprig v3.2.3's function map, so that unimplemented ones are known.
ALL_NAMES = frozenset((
    "hello", "ago", "date", "date_in_zone", "date_modify", "dateInZone", "dateModify", "duration",
    "durationRound", "htmlDate", "htmlDateInZone", "must_date_modify", "mustDateModify",
    "mustToDate", "now", "toDate", "unixEpoch", "abbrev", "abbrevboth", "trunc", "trim", "upper",
    "lower", "title", "untitle", "substr", "repeat", "trimall", "trimAll", "trimSuffix",
    "trimPrefix", "nospace", "initials", "randAlphaNum", "randAlpha", "randAscii", "randNumeric",
    "swapcase", "shuffle", "snakecase", "camelcase", "kebabcase", "wrap", "wrapWith", "contains",
    "hasPrefix", "hasSuffix", "quote", "squote", "cat", "indent", "nindent", "replace", "plural",
    "sha1sum", "sha256sum", "adler32sum", "toString", "atoi", "int64", "int", "float64", "seq",
    "toDecimal", "split", "splitList", "splitn", "toStrings", "until", "untilStep", "add1", "add",
    "sub", "div", "mod", "mul", "randInt", "add1f", "addf", "subf", "divf", "mulf", "biggest",
    "max", "min", "maxf", "minf", "ceil", "floor", "round", "join", "sortAlpha", "default",
    "empty", "coalesce", "all", "any", "compact", "mustCompact", "fromJson", "toJson",
    "toPrettyJson", "toRawJson", "mustFromJson", "mustToJson", "mustToPrettyJson", "mustToRawJson",
    "ternary", "deepCopy", "mustDeepCopy", "typeOf", "typeIs", "typeIsLike", "kindOf", "kindIs",
    "deepEqual", "env", "expandenv", "getHostByName", "base", "dir", "clean", "ext", "isAbs",
    "osBase", "osClean", "osDir", "osExt", "osIsAbs", "b64enc", "b64dec", "b32enc", "b32dec",
    "tuple", "list", "dict", "get", "set", "unset", "hasKey", "pluck", "keys", "pick", "omit",
    "merge", "mergeOverwrite", "mustMerge", "mustMergeOverwrite", "values", "append", "push",
    "mustAppend", "mustPush", "prepend", "mustPrepend", "first", "mustFirst", "rest", "mustRest",
    "last", "mustLast", "initial", "mustInitial", "reverse", "mustReverse", "uniq", "mustUniq",
    "without", "mustWithout", "has", "mustHas", "slice", "mustSlice", "concat", "dig", "chunk",
    "mustChunk", "bcrypt", "htpasswd", "genPrivateKey", "derivePassword", "buildCustomCert",
    "genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey", "genSignedCert",
    "genSignedCertWithKey", "encryptAES", "decryptAES", "randBytes", "uuidv4", "semver",
    "semverCompare", "fail", "regexMatch", "mustRegexMatch", "regexFindAll", "mustRegexFindAll",
    "regexFind", "mustRegexFind", "regexReplaceAll", "mustRegexReplaceAll",
    "regexReplaceAllLiteral", "mustRegexReplaceAllLiteral", "regexSplit", "mustRegexSplit",
    "regexQuoteMeta", "urlParse", "urlJoin"
))


def _missing(name: str) -> Func:
    def call(*_: object) -> None:
        raise GoError(f"the sprig function {name} is not implemented by dockwright yet")

    return Func(call, variadic="interface {}", errors=True)


def families() -> dict[str, dict[str, Func]]:
    """The implemented functions by family (module name)."""
    return {family: importlib.import_module(f"{__name__}.{family}").FUNCS
            for family in FAMILIES}


def functions() -> dict[str, Func]:
    """sprig's function map: implemented functions, and the others as clear errors."""
    funcs: dict[str, Func] = {}
    for family in families().values():
        funcs.update(family)
    for name in ALL_NAMES - funcs.keys():
        funcs[name] = _missing(name)
    return funcs


def not_implemented() -> list[str]:
    """sprig's functions that dockwright does not implement, sorted (for the README)."""
    done = {name for family in families().values() for name in family}
    return sorted(ALL_NAMES - done)
