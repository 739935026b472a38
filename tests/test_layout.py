"""The package's layers: what imports what."""

import ast
import importlib.util
import pathlib

import skvae

PACKAGE = pathlib.Path(skvae.__file__).parent


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path):
    """The skvae modules that the module at ``path`` imports, by name."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0]
            target = f"{base}.{node.module}" if node.module else base
            for alias in node.names:  # a name may be a submodule
                submodule = f"{target}.{alias.name}"
                is_module = _is_package(target) and importlib.util.find_spec(submodule)
                yield submodule if is_module else target
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("skvae"))


def _is_package(name):
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.submodule_search_locations is not None


def test_no_module_is_part_of_an_import_cycle():
    graph = {
        module_name(path): set(imported_modules(path)) for path in PACKAGE.rglob("*.py")
    }

    def reaches(start, goal, seen):
        for nxt in graph.get(start, ()):
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                if reaches(nxt, goal, seen):
                    return True
        return False

    cyclic = sorted(name for name in graph if reaches(name, name, set()))
    assert cyclic == []
