"""Real public tables this machine holds, built deterministically for the candidates benchmarks (recommend, text-cls).

Nothing is downloaded: each table is read from files that installed packages ship (Debian packages under /usr/share,
Python distributions in the virtual environment) and written as the CSV the recipe reads. Each loader returns None
when its source is not on the machine. The filtering each applies is in its docstring (BENCHMARKS.md repeats it).
"""

from __future__ import annotations

import ast
import csv
import gettext
import gzip
import hashlib
import re
from collections import Counter, defaultdict
from pathlib import Path

LOCALE = Path("/usr/share/locale")
MAN = Path("/usr/share/man")
LIBRARIES = ("numpy", "scipy", "pandas", "sklearn", "sympy", "torch", "statsmodels", "networkx")


def _site_packages() -> Path:
    """The site-packages that holds numpy (the worktrees' venvs reach the main one through a .pth file)."""
    import numpy

    return Path(numpy.__file__).resolve().parents[1]


def _key(text: str) -> str:
    """A stable order that does not follow the source's (sorted paths would group one library's files together)."""
    return hashlib.sha1(text.encode()).hexdigest()


def _write(out: Path, header: list[str], rows) -> Path:
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return out


def _capped(rows: list[tuple[str, str]], per_label: int) -> list[tuple[str, str]]:
    """Texts seen under two labels dropped (they say nothing of either), then at most per_label texts per label: the
    first by a hash of the text, so the sample is the same on every machine."""
    labels = defaultdict(set)
    for text, label in rows:
        labels[text].add(label)
    kept, count = [], Counter()
    for text, label in sorted(set(rows), key=lambda row: _key(row[0] + row[1])):
        if len(labels[text]) == 1 and count[label] < per_label:
            kept.append((text, label))
            count[label] += 1
    return kept


def gettext_languages(out: Path, languages: int = 8, per_label: int = 2500) -> Path | None:
    """Language identification: every translated message of the gettext catalogues under /usr/share/locale (one per
    program and language), labelled by its language (the folder's name without _REGION or @variant: pt_BR -> pt).
    Messages with no letter or under 4 characters are dropped; the `languages` languages with most messages kept."""
    rows = []
    for mo in sorted(LOCALE.glob("*/LC_MESSAGES/*.mo")):
        language = re.split(r"[_@.]", mo.parts[-3])[0]
        try:
            with mo.open("rb") as handle:
                catalog = gettext.GNUTranslations(handle)._catalog
        except (OSError, UnicodeDecodeError, ValueError, IndexError, LookupError):
            continue  # a catalogue in an unknown charset or with a broken header: skipped
        for source, message in catalog.items():
            text = re.sub(r"\s+", " ", str(message)).strip()
            if source and len(text) >= 4 and re.search(r"[^\W\d_]", text):
                rows.append((text, language))
    if not rows:
        return None
    keep = {label for label, _ in Counter(label for _, label in set(rows)).most_common(languages)}
    return _write(out, ["text", "label"], _capped([r for r in rows if r[1] in keep], per_label))


def docstring_libraries(out: Path, per_label: int = 2500) -> Path | None:
    """Which library a docstring comes from: the first paragraph of each function's and class's docstring in the
    installed sources of LIBRARIES (parsed with ast, nothing imported), tests folders left out; paragraphs under 20
    characters dropped."""
    root, rows = _site_packages(), []
    for library in LIBRARIES:
        for source in sorted((root / library).rglob("*.py")):
            if "tests" in source.relative_to(root).parts:
                continue
            try:
                tree = ast.parse(source.read_bytes())
            except (SyntaxError, ValueError):
                continue
            for node in ast.walk(tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    doc = (ast.get_docstring(node) or "").strip().split("\n\n")[0]
                    if len(text := " ".join(doc.split())) >= 20:
                        rows.append((text, library))
    return _write(out, ["text", "label"], _capped(rows, per_label)) if rows else None


def _imports(tree: ast.Module, package: list[str]) -> list[str]:
    """The modules a file imports, dotted and absolute (relative imports resolved against its package), in order."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            names.append(".".join(base + ([node.module] if node.module else [])))
    return [name for name in dict.fromkeys(names) if name]


def python_imports(out: Path, files: int = 8000) -> Path | None:
    """Python source files of the installed distributions (user) and the modules each imports (items: dotted names,
    relative imports made absolute, each once per file, in the order ast walks them). Tests folders and files that
    do not parse are left out; of the ~24k files that import something, the first `files` by a hash of their path
    (8,000: the pipeline's fits stay within minutes here); the recipe's filter (users >= 3, items >= 2) does the
    rest."""
    root, rows, users = _site_packages(), [], 0
    sources = sorted(((str(path.relative_to(root)), path) for path in root.glob("*/**/*.py")), key=lambda p: _key(p[0]))
    for relative, source in sources:
        parts = Path(relative).parts
        if users >= files or {"tests", "test"} & set(parts) or parts[0].endswith(".dist-info"):
            continue
        try:
            tree = ast.parse(source.read_bytes())
        except (SyntaxError, ValueError, RecursionError):
            continue
        imported = _imports(tree, list(parts[:-1]))
        rows += [(relative, name) for name in imported]
        users += bool(imported)
    return _write(out, ["user", "item"], rows) if rows else None


def _see_also(page: str) -> list[str]:
    """The name(section) references of a man page's SEE ALSO section, in order."""
    section = re.search(r'^\.S[Hh] +"?SEE ALSO"?\s*$(.*?)(?=^\.S[Hh] |\Z)', page, flags=re.M | re.S)
    if not section:
        return []
    text = re.sub(r"\\f(\[[A-Z]*\]|\(..|.)", "", section.group(1)).replace("\\-", "-").replace("\\&", "")
    return list(dict.fromkeys(f"{name}({part})" for name, part in re.findall(r"([\w.:+-]+)\s*\((\d\w*)\)", text)))


def man_see_also(out: Path) -> Path | None:
    """Each English man page under /usr/share/man/man1-8 (user: name(section)) and the pages its SEE ALSO section
    names (items), in the order it names them; pages that are only a .so link to another are left out."""
    rows = []
    for path in sorted(MAN.glob("man[1-8]/*"), key=lambda path: _key(path.name)):
        try:
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
                page = handle.read()
        except (OSError, EOFError):
            continue
        if page.lstrip().startswith(".so "):
            continue
        name = path.name.removesuffix(".gz")
        user = f"{name.rsplit('.', 1)[0]}({name.rsplit('.', 1)[-1]})"
        rows += [(user, item) for item in _see_also(page) if item != user]
    return _write(out, ["user", "item"], rows) if rows else None
