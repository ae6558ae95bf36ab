"""``__all__`` spellings griffe does not read, taught to it as a griffe extension.

griffe reads ``__all__ = [...]`` and ``__all__ += other.__all__``. Libraries also grow ``__all__`` by
calls, and a name missing from ``__all__`` is missing from every star import that re-exports it, so the
public path of the object is lost (NumPy 1.x: ``numpy.product`` is reached through ``from .core import *``,
whose ``__all__`` takes ``fromnumeric``'s by ``extend_all(fromnumeric)``, and ``numpy/__init__.py`` takes
``core``'s by ``__all__.extend(core.__all__)``). This extension reads, in module-level code (``if``,
``else`` and ``try`` blocks included, function bodies not):

* ``__all__.extend(X)`` and ``__all__.append("name")``;
* ``helper(module)`` where ``helper`` is a function of the same module that reads its argument's
  ``__all__`` and adds to the module's (NumPy's ``extend_all``).

:class:`ExportsFirstLoader` mends the order griffe 2.4 expands a package in when it ships stubs
(``numpy/__init__.pyi``): star imports first, ``__all__ += other.__all__`` after, so each star import
brought only the literal names of the other module's ``__all__``.

``__all__.remove(...)`` is ignored on purpose: a name removed from ``__all__`` is still an attribute
users reach (NumPy removes ``round`` only to keep ``from numpy import *`` from shadowing the builtin).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

import griffe


class ExportsFirstLoader(griffe.GriffeLoader):
    """A griffe loader that expands a package's ``__all__`` before its star imports, stubs or not."""

    def expand_wildcards(self, obj: Any, *, external: bool | None = None, seen: set[str] | None = None) -> None:
        if seen is None and obj.is_module:
            # Idempotent: expanded exports are plain names, which a second expansion keeps as they are.
            self.expand_exports(obj.package)
        super().expand_wildcards(obj, external=external, seen=seen)


class DynamicExports(griffe.Extension):
    """Adds the ``__all__`` growth by calls to each module's griffe ``exports``."""

    def on_module_members(self, *, node: Any, mod: Any, agent: Any, **kwargs: Any) -> None:
        if not isinstance(node, ast.Module) or mod.exports is None:
            return
        helpers = _export_helpers(node)
        for statement in _module_level(node.body):
            value = _added_exports(statement, helpers)
            if value is None:
                continue
            augment = ast.AugAssign(target=ast.Name(id="__all__", ctx=ast.Store()), op=ast.Add(), value=value)
            ast.copy_location(augment, statement)
            # Same conversion as griffe's own ``__all__ +=`` handling (visitor.visit_augassign).
            mod.exports.extend(
                name if isinstance(name, str) else griffe.ExprName(name.name, parent=name.parent)
                for name in griffe.safe_get__all__(augment, mod)
            )


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import time: the module body and its ``if`` / ``try`` / ``with`` blocks."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from _module_level(statement.body)
            yield from _module_level(statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from _module_level(statement.body)
            for handler in statement.handlers:
                yield from _module_level(handler.body)
            yield from _module_level(statement.orelse)
            yield from _module_level(statement.finalbody)
        elif isinstance(statement, ast.With):
            yield from _module_level(statement.body)


def _added_exports(statement: ast.stmt, helpers: set[str]) -> ast.expr | None:
    """The expression whose names ``statement`` adds to ``__all__`` (griffe's ``__all__ +=`` form)."""
    if not isinstance(statement, ast.Expr) or not isinstance(statement.value, ast.Call):
        return None
    call = statement.value
    function = call.func
    if len(call.args) != 1 or call.keywords:
        return None
    argument = call.args[0]
    if isinstance(function, ast.Attribute) and _is_all(function.value):
        if function.attr == "extend":
            return argument
        if function.attr == "append" and isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            return ast.List(elts=[argument], ctx=ast.Load())
        return None
    if isinstance(function, ast.Name) and function.id in helpers and isinstance(argument, ast.Name):
        return ast.Attribute(value=argument, attr="__all__", ctx=ast.Load())
    return None


def _export_helpers(module: ast.Module) -> set[str]:
    """Module functions of one parameter that add that parameter's ``__all__`` to the module's."""
    helpers = set()
    for statement in module.body:
        if not isinstance(statement, ast.FunctionDef) or len(statement.args.args) != 1:
            continue
        parameter = statement.args.args[0].arg
        names_all = reads_argument_all = False
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and node.id == "__all__":
                names_all = True
            elif (isinstance(node, ast.Attribute) and node.attr == "__all__" and _is_name(node.value, parameter)) or (
                isinstance(node, ast.Call)
                and _is_name(node.func, "getattr")
                and len(node.args) >= 2
                and _is_name(node.args[0], parameter)
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "__all__"
            ):
                reads_argument_all = True
        if names_all and reads_argument_all:
            helpers.add(statement.name)
    return helpers


def _is_all(node: ast.expr) -> bool:
    return _is_name(node, "__all__")


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name
