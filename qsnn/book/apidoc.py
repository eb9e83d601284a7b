"""Sphinx extension of the API reference pages (book/api*.md): one documented place per object.

Every public module of ``qsnn`` (a module without a leading underscore that defines ``__all__``) has an
``automodule`` on one of the API pages. An object is documented once, in its *home*: the module that
defines it when that module is public, otherwise the deepest public module that exports it. A module
that re-exports names (``qsnn``, ``qsnn.train``, ...) lists them in a table that links to their home, and
a reference may name an object by any public path: ``qsnn.alexiewicz_norm``,
``qsnn.spiketrains.alexiewicz.alexiewicz_norm``, ``qsnn.train.fit`` and ``qsnn.train.loop.fit`` all lead to the same
entry.

Types in docstrings that lie outside the package (``numpy.ndarray``, ``torch.Tensor``, ``pathlib.Path``)
and prose in type fields (``ndarray [N]``, ``sequence of int``) have no page in this book and are not
checked. Every other reference is: a ``qsnn`` name, in full or bare, must resolve or the strict build
fails.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
from functools import lru_cache

PACKAGE = "qsnn"


def _is_public(dotted):
    return not any(part.startswith("_") for part in dotted.split("."))


@lru_cache(maxsize=None)
def public_modules():
    """Names of the package's public modules (no leading underscore, ``__all__`` defined), sorted."""
    package = importlib.import_module(PACKAGE)
    names = [PACKAGE]
    for info in pkgutil.walk_packages(package.__path__, PACKAGE + "."):
        if _is_public(info.name) and not info.name.endswith("__main__"):
            names.append(info.name)
    return tuple(sorted(n for n in names if hasattr(importlib.import_module(n), "__all__")))


@lru_cache(maxsize=None)
def homes():
    """``{public path: home path}`` for every name in every public module's ``__all__``."""
    modules = {name: importlib.import_module(name) for name in public_modules()}
    exported = {}  # id(obj) -> [(module, name), ...]
    objects = {}
    for modname, module in modules.items():
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue
            exported.setdefault(id(obj), []).append((modname, name))
            objects[id(obj)] = obj
    result = {}
    for key, places in exported.items():
        obj = objects[key]
        defining = getattr(obj, "__module__", None) if (inspect.isclass(obj) or callable(obj)) else None
        qualname = getattr(obj, "__qualname__", None)
        assigned = [p for p in places if p[1] in _assigned_names(p[0])]
        if defining in modules and (defining, qualname) in places:
            home = f"{defining}.{qualname}"
        elif len(assigned) == 1:  # data: the module that assigns it
            home = f"{assigned[0][0]}.{assigned[0][1]}"
        else:
            # data, or an object defined in a private module: the deepest public module exporting it
            modname, name = max(places, key=lambda p: (p[0].count("."), p[0]))
            home = f"{modname}.{name}"
        for modname, name in places:
            result[f"{modname}.{name}"] = home
    return result


@lru_cache(maxsize=None)
def _assigned_names(modname):
    """Names a module assigns at its top level (where a constant is defined, not imported)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(modname)))
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return frozenset(names)


def _data_documenter():
    from sphinx.ext.autodoc import DataDocumenter, ModuleDocumenter

    class ExportedDataDocumenter(DataDocumenter):
        """Module data named in ``__all__``: documented with its ``#:`` comment, or bare, never with the
        docstring of its type (``tuple``, ``dict``); a long value is left to the source."""

        objtype = "exporteddata"
        directivetype = "data"
        priority = DataDocumenter.priority + 1

        @classmethod
        def can_document_member(cls, member, membername, isattr, parent):
            return isinstance(parent, ModuleDocumenter) and not (
                inspect.isroutine(member) or inspect.isclass(member) or inspect.ismodule(member))

        def get_doc(self):
            comment = self.get_module_comment(self.objpath[-1])
            return [comment] if comment else []

        def should_suppress_value_header(self):
            return len(repr(self.object)) > 100 or super().should_suppress_value_header()

    return ExportedDataDocumenter


def _skip_member(app, what, name, obj, skip, options):
    """Document a module's member only in the member's home; re-exports are listed, not repeated."""
    if what != "module" or skip:
        return None
    modname = app.env.temp_data.get("autodoc:module")
    path = f"{modname}.{name}"
    home = homes().get(path)
    if home is not None and home != path:
        return True
    return None


def _list_reexports(app, what, name, obj, options, lines):
    """Append to a module's docstring a table of the names it re-exports from elsewhere."""
    if what != "module" or name not in public_modules():
        return
    table = homes()
    reexported = [f"{name}.{n}" for n in obj.__all__ if table.get(f"{name}.{n}", f"{name}.{n}") != f"{name}.{n}"]
    if not reexported:
        return
    lines += ["", ".. rubric:: Importable from here, documented where they are defined", "",
              ".. autosummary::", "   :nosignatures:", ""]
    lines += [f"   {path.rsplit('.', 1)[1]}" for path in reexported]
    lines.append("")


def _resolve(app, env, node, contnode):
    """Lead a reference to a re-exported name to its home; let prose and foreign types pass unchecked."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip("~.")
    table = homes()
    context = [node.get("py:module")] if node.get("py:module") else []
    if node.get("py:module") and node.get("py:class"):
        context.insert(0, f"{node['py:module']}.{node['py:class']}")
    domain = env.get_domain("py")
    for prefix in ["", *context]:
        full = f"{prefix}.{target}" if prefix else target
        parts = full.split(".")
        for cut in range(len(parts), prefix.count(".") + 1 if prefix else 0, -1):
            head = ".".join(parts[:cut])
            if head in table and table[head] != head:
                new = ".".join([table[head], *parts[cut:]])
                found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], new, node,
                                            contnode)
                if found is not None:
                    return found
    # a bare name as the module that writes it sees it (``TrainConfig`` in qsnn.train.loop)
    module = sys.modules.get(node.get("py:module") or "")
    first, _, rest = target.partition(".")
    obj = getattr(module, first, None) if module is not None else None
    if obj is not None and id(obj) in _homes_by_id():
        new = ".".join(filter(None, [_homes_by_id()[id(obj)], rest]))
        found = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], new, node, contnode)
        if found is not None:
            return found
    if node.get("reftype") in ("class", "exc") and not _is_package_name(target):
        return contnode  # a foreign type or prose in a type field: nothing to link to
    return None


@lru_cache(maxsize=None)
def _homes_by_id():
    """``{id(obj): home path}`` of the package's exported classes and functions."""
    result = {}
    for path, home in homes().items():
        modname, name = path.rsplit(".", 1)
        obj = getattr(importlib.import_module(modname), name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            result[id(obj)] = home
    return result


@lru_cache(maxsize=None)
def _package_classes():
    """Bare names of the package's exported classes."""
    names = set()
    for path in homes():
        modname, name = path.rsplit(".", 1)
        if inspect.isclass(getattr(importlib.import_module(modname), name)):
            names.add(name)
    return frozenset(names)


def _is_package_name(target):
    """Whether a type names a class of the package, in full or bare (then it must resolve)."""
    target = target.lstrip("~.")
    return target.startswith(PACKAGE + ".") or target in _package_classes()


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.autosummary")
    app.add_autodocumenter(_data_documenter())
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _list_reexports)
    app.connect("missing-reference", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
