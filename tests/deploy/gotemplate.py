"""A tiny renderer for the Go-template subset the Helm chart uses, so tests need no helm.

PyPI has no maintained Go-template engine (`go-template` 0.0.3 wraps a Go shared library,
2019), so this covers exactly what `deploy/helm` uses and fails loudly on anything else:
`{{ }}` with `-` trimming, comments, `if`/`else`/`end`, `range $v :=` and `range $k, $v :=`,
`.Values.x`, `$.Values.x`, `$var`, string and number literals, pipelines, `define` blocks
with `include "name" .`, `.Files.Get "path"`, and the functions quote, toYaml, toJson,
indent, nindent, default, not, printf (%s only), sha256sum. A missing value is an error
(Helm would print nothing), so a typo in a template fails the test instead of rendering an
empty field.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import yaml

ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.DOTALL)


class TemplateError(Exception):
    """The template uses something outside the subset, or a value is missing."""


@dataclass
class Node:
    kind: str  # text | out | if | range | define
    text: str = ""
    expr: str = ""
    body: list[Node] = field(default_factory=list)
    orelse: list[Node] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def _tokens(source: str) -> list[tuple[str, str]]:
    """[("text", …) | ("action", …)] with Go's whitespace trimming applied."""
    out: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    for match in ACTION.finditer(source):
        text = source[pos : match.start()]
        if trim_next:
            text = text.lstrip()
        if match.group(1):
            text = text.rstrip()
        out.append(("text", text))
        out.append(("action", match.group(2)))
        trim_next = bool(match.group(3))
        pos = match.end()
    tail = source[pos:]
    out.append(("text", tail.lstrip() if trim_next else tail))
    return out


def parse(source: str) -> list[Node]:
    root: list[Node] = []
    stack: list[tuple[Node | None, list[Node]]] = [(None, root)]
    for kind, value in _tokens(source):
        _, target = stack[-1]
        if kind == "text":
            if value:
                target.append(Node("text", text=value))
            continue
        if value.startswith("/*"):
            continue
        word = value.split(None, 1)[0] if value else ""
        if word == "if":
            node = Node("if", expr=value[2:].strip())
            target.append(node)
            stack.append((node, node.body))
        elif word == "define":
            node = Node("define", expr=json.loads(value[6:].strip()))
            target.append(node)
            stack.append((node, node.body))
        elif word == "range":
            spec = value[5:].strip()
            names_part, _, expr = spec.partition(":=")
            if not expr:
                raise TemplateError(f"range needs variables: {value!r}")
            names = [n.strip() for n in names_part.split(",")]
            node = Node("range", expr=expr.strip(), names=names)
            target.append(node)
            stack.append((node, node.body))
        elif word == "else":
            owner, _ = stack.pop()
            if owner is None or owner.kind != "if":
                raise TemplateError("else outside if")
            stack.append((owner, owner.orelse))
        elif word == "end":
            if len(stack) == 1:
                raise TemplateError("end without a block")
            stack.pop()
        else:
            target.append(Node("out", expr=value))
    if len(stack) != 1:
        raise TemplateError("a block is not closed with {{ end }}")
    return root


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "") and not (isinstance(value, list | dict) and not value)


def _to_yaml(value: Any) -> str:
    return str(yaml.safe_dump(value, default_flow_style=False, sort_keys=True)).rstrip("\n")


def _indent(width: Any, text: Any) -> str:
    pad = " " * int(width)
    return "\n".join(pad + line for line in str(text).split("\n"))


FUNCTIONS: dict[str, Any] = {
    "quote": lambda value: json.dumps("" if value is None else str(value)),
    "toYaml": _to_yaml,
    "indent": _indent,
    "nindent": lambda width, text: "\n" + _indent(width, text),
    "default": lambda fallback, value: value if truthy(value) else fallback,
    "not": lambda value: not truthy(value),
    "toJson": lambda value: json.dumps(value, sort_keys=True, separators=(",", ":")),
    "printf": lambda fmt, *args: fmt.replace("%s", "{}").format(*args),
    "sha256sum": lambda text: hashlib.sha256(str(text).encode()).hexdigest(),
}


class Scope:
    def __init__(self, root: dict[str, Any], defines: dict[str, list[Node]] | None = None) -> None:
        self.root = root
        self.defines = defines if defines is not None else {}
        self.dot: Any = root
        self.variables: dict[str, Any] = {"$": root}

    def term(self, token: str) -> Any:
        if token.startswith('"'):
            return json.loads(token)
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if token in ("true", "false"):
            return token == "true"
        if token.startswith("$"):
            name, _, path = token.partition(".")
            if name not in self.variables:
                raise TemplateError(f"unknown variable {name}")
            return self._walk(self.variables[name], path, token)
        if token.startswith("."):
            return self._walk(self.dot, token[1:], token)
        raise TemplateError(f"unsupported term {token!r}")

    @staticmethod
    def _walk(value: Any, path: str, token: str) -> Any:
        for part in filter(None, path.split(".")):
            if not isinstance(value, dict) or part not in value:
                raise TemplateError(f"{token}: no value at {part!r}")
            value = value[part]
        return value

    def pipeline(self, expr: str) -> Any:
        commands = [c.strip() for c in _split_pipes(expr)]
        value: Any = None
        for index, command in enumerate(commands):
            words = shlex.split(command, posix=False)
            if words[0] == ".Files.Get" and len(words) == 2 and index == 0:
                value = self.root["Files"][self.term(words[1])]
            elif words[0] == "include" and len(words) == 3:
                value = self.include(self.term(words[1]), self.term(words[2]))
            elif words[0] in FUNCTIONS:
                args = [self.term(w) for w in words[1:]]
                if index > 0:
                    args.append(value)
                value = FUNCTIONS[words[0]](*args)
            elif index == 0 and len(words) == 1:
                value = self.term(words[0])
            else:
                raise TemplateError(f"unsupported command {command!r}")
        return value

    def include(self, name: str, dot: Any) -> str:
        """`include "name" .`: a `define` block rendered with `dot`, as a string."""
        if name not in self.defines:
            raise TemplateError(f"no template named {name!r}")
        inner = Scope(self.root, self.defines)
        inner.dot = dot
        return _render(self.defines[name], inner)


def _split_pipes(expr: str) -> list[str]:
    parts, current, quoted = [], "", False
    for char in expr:
        if char == '"':
            quoted = not quoted
        if char == "|" and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _render(nodes: list[Node], scope: Scope) -> str:
    out: list[str] = []
    for node in nodes:
        if node.kind == "text":
            out.append(node.text)
        elif node.kind == "out":
            out.append(_show(scope.pipeline(node.expr)))
        elif node.kind == "if":
            branch = node.body if truthy(scope.pipeline(node.expr)) else node.orelse
            out.append(_render(branch, scope))
        elif node.kind == "define":
            scope.defines[node.expr] = node.body
        elif node.kind == "range":
            items = scope.pipeline(node.expr) or []
            pairs = sorted(items.items()) if isinstance(items, dict) else list(enumerate(items))
            saved = (scope.dot, dict(scope.variables))
            for key, element in pairs:
                if len(node.names) == 2:
                    scope.variables[node.names[0]] = key
                    scope.variables[node.names[1]] = element
                else:
                    scope.variables[node.names[0]] = element
                scope.dot = element
                out.append(_render(node.body, scope))
            scope.dot, scope.variables = saved
    return "".join(out)


def render(source: str, context: dict[str, Any], *, helpers: str = "") -> str:
    """Render one template with `context` ({"Values", "Release", "Chart"}).

    `helpers` is the text of the chart's `_helpers.tpl`: its `define` blocks are what
    `include` can name (Helm loads every `.tpl` file of the chart the same way).
    """
    scope = Scope(context)
    _render(parse(helpers), scope)
    return _render(parse(source), scope)
