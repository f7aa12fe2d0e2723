"""The parser of Go's text/template: tokens into trees, one per template.

It follows Go's ``text/template/parse/parse.go`` rule for rule: the same lookahead, the same
checks (functions must be defined, variables declared, ``break`` only inside ``range``,
commands after the first of a pipeline executable) and the same messages.
"""

from __future__ import annotations

from collections.abc import Container

from dockwright.gotemplate import golit
from dockwright.gotemplate.lex import T, Token, lex
from dockwright.gotemplate.nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    CommentNode,
    ContinueNode,
    DotNode,
    ElseNode,
    EndNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    Tree,
    VariableNode,
    WithNode,
    is_empty_tree,
)
from dockwright.gotemplate.strconv import go_quote


class ParseError(Exception):
    """A template that does not parse. ``line`` counts from 1; ``pos`` is the offset of the
    token at fault in ``parse_name``'s text (None when unknown)."""

    def __init__(self, parse_name: str, line: int, message: str, pos: int | None) -> None:
        super().__init__(f"template: {parse_name}:{line}: {message}")
        self.parse_name = parse_name
        self.line = line
        self.message = message
        self.pos = pos


_OPERAND_START = frozenset((T.BOOL, T.CHAR_CONSTANT, T.COMPLEX, T.DOT, T.FIELD, T.IDENTIFIER,
                            T.NUMBER, T.NIL, T.RAW_STRING, T.STRING, T.VARIABLE,
                            T.LEFT_PAREN))


class _Parser:
    def __init__(self, name: str, text: str, tokens: list[Token], funcs: Container[str],
                 trees: dict[str, Tree]) -> None:
        self.name = name  # the tree being parsed (changes inside define)
        self.parse_name = name
        self.text = text
        self.tokens = tokens
        self.i = 0  # index of the next token
        self.funcs = funcs
        self.trees = trees
        self.vars = ["$"]
        self.action_line = 0
        self.range_depth = 0
        self.last = tokens[0]

    # -- tokens: a list, so backing up is moving the index
    def next(self) -> Token:
        tok = self.tokens[self.i]
        self.last = tok
        if tok.typ not in (T.EOF, T.ERROR):
            self.i += 1
        else:
            self.i += 1
            self.tokens.append(tok)  # reading past the end keeps giving the last token
        return tok

    def backup(self, n: int = 1) -> None:
        self.i -= n

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next_non_space(self) -> Token:
        while True:
            tok = self.next()
            if tok.typ != T.SPACE:
                return tok

    def peek_non_space(self) -> Token:
        tok = self.next_non_space()
        self.backup()
        return tok

    # -- errors
    def errorf(self, message: str, tok: Token | None = None) -> ParseError:
        tok = tok or self.last
        return ParseError(self.parse_name, tok.line, message, tok.pos)

    def unexpected(self, tok: Token, context: str) -> ParseError:
        if tok.typ == T.ERROR:
            extra = ""
            if self.action_line and self.action_line != tok.line:
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if tok.val.endswith(" action"):
                    extra = extra[len(" in action"):]
            return self.errorf(f"{tok.val}{extra}", tok)
        return self.errorf(f"unexpected {tok.describe()} in {context}", tok)

    def expect(self, typ: T, context: str) -> Token:
        tok = self.next_non_space()
        if tok.typ != typ:
            raise self.unexpected(tok, context)
        return tok

    # -- trees
    def add(self, name: str, root: ListNode) -> None:
        old = self.trees.get(name)
        if old is None or is_empty_tree(old.root):
            self.trees[name] = Tree(name, self.parse_name, self.text, root)
            return
        if not is_empty_tree(root):
            raise self.errorf(f"template: multiple definition of template {go_quote(name)}")

    def parse(self) -> None:
        root = ListNode(self.peek().pos)
        while self.peek().typ != T.EOF:
            if self.peek().typ == T.LEFT_DELIM:
                delim = self.next()
                if self.next_non_space().typ == T.DEFINE:
                    self.parse_definition()
                    continue
                self.i = self._index_of(delim)  # read the delimiter again
            node = self.text_or_action()
            if isinstance(node, (EndNode, ElseNode)):
                raise self.errorf(f"unexpected {node}")
            root.nodes.append(node)
        self.add(self.name, root)

    def parse_definition(self) -> None:
        context = "define clause"
        tok = self.next_non_space()
        if tok.typ not in (T.STRING, T.RAW_STRING):
            raise self.unexpected(tok, context)
        name = self.unquote(tok)
        self.expect(T.RIGHT_DELIM, context)
        saved_vars, self.vars = self.vars, ["$"]
        root, end = self.item_list("define", tok.line)
        if not isinstance(end, EndNode):
            raise self.errorf(f"unexpected {end} in {context}")
        self.add(name, root)
        self.vars = saved_vars

    def item_list(self, opened: str = "", line: int = 0) -> tuple[ListNode, Node]:
        """The nodes up to an end or else; at the end of the text, an error that names the
        ``opened`` block (Go says only "unexpected EOF")."""
        node_list = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != T.EOF:
            node = self.text_or_action()
            if isinstance(node, (EndNode, ElseNode)):
                return node_list, node
            node_list.nodes.append(node)
        where = f": the {{{{{opened}}}}} of line {line} has no {{{{end}}}}" if opened else ""
        raise self.errorf(f"unexpected EOF{where}")

    def text_or_action(self) -> Node:
        tok = self.next_non_space()
        if tok.typ == T.TEXT:
            return TextNode(tok.pos, tok.val)
        if tok.typ == T.LEFT_DELIM:
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        if tok.typ == T.COMMENT:
            return CommentNode(tok.pos, tok.val)
        raise self.unexpected(tok, "input")

    def action(self) -> Node:
        tok = self.next_non_space()
        typ = tok.typ
        if typ == T.BLOCK:
            return self.block_control()
        if typ == T.BREAK:
            return self.loop_control(tok, BreakNode, "{{break}}")
        if typ == T.CONTINUE:
            return self.loop_control(tok, ContinueNode, "{{continue}}")
        if typ == T.ELSE:
            return self.else_control()
        if typ == T.END:
            return EndNode(self.expect(T.RIGHT_DELIM, "end").pos)
        if typ == T.IF:
            return self.branch(IfNode, "if")
        if typ == T.RANGE:
            return self.branch(RangeNode, "range")
        if typ == T.TEMPLATE:
            return self.template_control()
        if typ == T.WITH:
            return self.branch(WithNode, "with")
        self.backup()
        start = self.peek()
        return ActionNode(start.pos, start.line, self.pipeline("command", T.RIGHT_DELIM))

    def loop_control(self, tok: Token, cls: type[BreakNode] | type[ContinueNode],
                     what: str) -> Node:
        after = self.next_non_space()
        if after.typ != T.RIGHT_DELIM:
            raise self.unexpected(after, what)
        if self.range_depth == 0:
            raise self.errorf(f"{what} outside {{{{range}}}}")
        return cls(tok.pos, tok.line)

    def pipeline(self, context: str, end: T) -> PipeNode:
        tok = self.peek_non_space()
        pipe = PipeNode(tok.pos, tok.line)
        while True:  # declarations (the loop continues only for range's "$i, $v")
            v = self.peek_non_space()
            if v.typ != T.VARIABLE:
                break
            self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.typ in (T.ASSIGN, T.DECLARE):
                pipe.is_assign = nxt.typ == T.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self.vars.append(v.val)
                break
            if nxt.typ == T.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val.split(".")))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (T.VARIABLE, T.RIGHT_DELIM,
                                                     T.RIGHT_PAREN):
                        continue
                    raise self.errorf("range can only initialize variables")
                raise self.errorf(f"too many declarations in {context}")
            # not a declaration: read the variable again as an operand
            self.i = self._index_of(v)
            break
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.typ in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(tok, context)

    def _index_of(self, tok: Token) -> int:
        """Where ``tok`` (already read) is, to read it again: Go's backup2/backup3."""
        i = self.i - 1
        while self.tokens[i] is not tok:
            i -= 1
        return i

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.errorf(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                raise self.errorf(f"non executable command in pipeline stage {i + 2}")

    def branch(self, cls: type[BranchNode], context: str) -> BranchNode:
        """if, range or with. ``{{else if}}`` and (Go 1.23, werf's Go) ``{{else with}}``
        chain: the rest is parsed as an if (with) inside the else, sharing the one end."""
        depth = len(self.vars)
        try:
            pipe = self.pipeline(context, T.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            body, nxt = self.item_list(context, pipe.line)
            if context == "range":
                self.range_depth -= 1
            else_list: ListNode | None = None
            if isinstance(nxt, ElseNode):
                chained = {"if": (T.IF, IfNode), "with": (T.WITH, WithNode)}.get(context)
                if chained and self.peek().typ == chained[0]:
                    self.next()
                    else_list = ListNode(nxt.pos, [self.branch(chained[1], context)])
                else:
                    else_list, nxt = self.item_list(context, pipe.line)
                    if not isinstance(nxt, EndNode):
                        raise self.errorf(f"expected end; found {nxt}")
            return cls(pipe.pos, pipe.line, pipe, body, else_list)
        finally:
            del self.vars[depth:]

    def else_control(self) -> Node:
        peek = self.peek_non_space()
        if peek.typ in (T.IF, T.WITH):  # else if / else with: the keyword stays to be read
            return ElseNode(peek.pos, peek.line)
        tok = self.expect(T.RIGHT_DELIM, "else")
        return ElseNode(tok.pos, tok.line)

    def block_control(self) -> Node:
        context = "block clause"
        tok = self.next_non_space()
        name = self.template_name(tok, context)
        pipe = self.pipeline(context, T.RIGHT_DELIM)
        saved_vars, self.vars = self.vars, ["$"]
        root, end = self.item_list("block", tok.line)
        if not isinstance(end, EndNode):
            raise self.errorf(f"unexpected {end} in {context}")
        self.add(name, root)
        self.vars = saved_vars
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def template_control(self) -> Node:
        context = "template clause"
        tok = self.next_non_space()
        name = self.template_name(tok, context)
        pipe = None
        if self.next_non_space().typ != T.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, T.RIGHT_DELIM)
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def template_name(self, tok: Token, context: str) -> str:
        if tok.typ in (T.STRING, T.RAW_STRING):
            return self.unquote(tok)
        raise self.unexpected(tok, context)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ == T.SPACE:
                continue
            if tok.typ in (T.RIGHT_DELIM, T.RIGHT_PAREN):
                self.backup()
            elif tok.typ != T.PIPE:
                raise self.unexpected(tok, "operand")
            break
        if not cmd.args:
            raise self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == T.FIELD:
            fields: list[str] = []
            chain_pos = self.peek().pos
            while self.peek().typ == T.FIELD:
                fields.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                return FieldNode(chain_pos, node.ident + fields)
            if isinstance(node, VariableNode):
                return VariableNode(chain_pos, node.ident + fields)
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                raise self.errorf(f"unexpected . after term {go_quote(str(node))}")
            return ChainNode(chain_pos, node, fields)
        return node

    def term(self) -> Node | None:
        tok = self.next_non_space()
        typ = tok.typ
        if typ == T.IDENTIFIER:
            if tok.val not in self.funcs:
                raise self.errorf(f"function {go_quote(tok.val)} not defined")
            return IdentifierNode(tok.pos, tok.val)
        if typ == T.DOT:
            return DotNode(tok.pos)
        if typ == T.NIL:
            return NilNode(tok.pos)
        if typ == T.VARIABLE:
            return self.use_var(tok)
        if typ == T.FIELD:
            return FieldNode(tok.pos, tok.val[1:].split("."))
        if typ == T.BOOL:
            return BoolNode(tok.pos, tok.val == "true")
        if typ in (T.CHAR_CONSTANT, T.COMPLEX, T.NUMBER):
            return self.number(tok)
        if typ == T.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", T.RIGHT_PAREN)
        if typ in (T.STRING, T.RAW_STRING):
            return StringNode(tok.pos, tok.val, self.unquote(tok))
        self.backup()
        return None

    def use_var(self, tok: Token) -> VariableNode:
        node = VariableNode(tok.pos, tok.val.split("."))
        if node.ident[0] not in self.vars:
            raise self.errorf(f"undefined variable {go_quote(node.ident[0])}")
        return node

    def number(self, tok: Token) -> NumberNode:
        try:
            return golit.number(tok.pos, tok.val, char=tok.typ == T.CHAR_CONSTANT,
                                complex_=tok.typ == T.COMPLEX)
        except golit.LiteralError as exc:
            raise self.errorf(str(exc)) from None

    def unquote(self, tok: Token) -> str:
        try:
            return golit.unquote(tok.val)
        except golit.LiteralError as exc:
            raise self.errorf(str(exc)) from None


def parse(name: str, text: str, funcs: Container[str]) -> dict[str, Tree]:
    """The trees of ``text`` parsed as template ``name``: ``name`` itself and every
    ``define``/``block`` in it. ``funcs`` are the names of the functions it may call."""
    trees: dict[str, Tree] = {}
    _Parser(name, text, lex(text), funcs, trees).parse()
    return trees
