"""The code keeps its shape: layers import downwards only, modules and functions stay small."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mailsync", "syncapp", "gmail_emulator")
MODULE_LINES_MAX = 400
FUNCTION_LINES_MAX = 60


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


MODULES = _modules()


def _project_module(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """Project modules this one imports, each with whether the import is inside a function."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    in_function = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            module = _project_module(target)
            if module and module != name and not name.startswith(module + "."):
                found.append((module, id(node) in in_function))
    return found


def test_no_project_module_is_imported_inside_a_function():
    hidden = [
        f"{name} -> {target}"
        for name, path in MODULES.items()
        # AppConfig.ready() registers the task receivers once the apps are loaded.
        if path.name != "apps.py"
        for target, inside in _imports(name, path)
        if inside
    ]
    assert hidden == []


def test_the_project_has_no_import_cycle():
    graph = {name: {t for t, _ in _imports(name, path)} for name, path in MODULES.items()}
    cycles = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_the_emulator_stands_alone():
    for name, path in MODULES.items():
        if name.startswith("gmail_emulator"):
            imported = ast.dump(ast.parse(path.read_text()))
            assert "syncapp" not in imported and "'django" not in imported, name


def test_app_modules_and_functions_stay_small():
    too_big = []
    for name, path in MODULES.items():
        if not name.startswith("syncapp"):
            continue
        source = path.read_text()
        if len(source.splitlines()) > MODULE_LINES_MAX:
            too_big.append(f"{name}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES_MAX:
                    too_big.append(f"{name}.{node.name}: {length} lines")
    assert too_big == []
