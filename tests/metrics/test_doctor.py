"""`dpbench doctor`: lexnames built from the Debian man page, WordNet laid out where NLTK reads it."""

import pytest

from dpbench import doctor

needs_debian_wordnet = pytest.mark.skipif(
    not (doctor.DEBIAN_WORDNET / "index.noun").exists() or not doctor.LEXNAMES_MAN.exists(),
    reason="Debian wordnet-base/wordnet-sense-index not installed (CI installs them)",
)


@needs_debian_wordnet
def test_build_lexnames_has_45_files_with_pos_numbers():
    lines = doctor.build_lexnames().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3"
    assert "03\tnoun.Tops\t1" in lines and "18\tnoun.person\t1" in lines  # man page pads this one
    assert lines[-1] == "44\tadj.ppl\t3"
    assert "29\tverb.body\t2" in lines and "02\tadv.all\t4" in lines


@needs_debian_wordnet
def test_fix_wordnet_copies_files_that_nltk_reads(tmp_path, monkeypatch):
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path), *nltk.data.path])  # NLTK reads only under its path

    dest = doctor.fix_wordnet(tmp_path)
    assert dest == tmp_path / "corpora" / "wordnet"
    assert (dest / "lexnames").exists() and not (dest / "index.noun").is_symlink()
    reader = WordNetCorpusReader(str(dest), None)
    assert reader.synsets("dog")[0].lexname() == "noun.animal"
    assert "automobile" in {lemma.name() for s in reader.synsets("car") for lemma in s.lemmas()}


def test_fix_wordnet_without_debian_files_explains(tmp_path):
    from dpbench.errors import DpbenchError

    with pytest.raises(DpbenchError, match="apt-get install wordnet-base wordnet-sense-index"):
        doctor.fix_wordnet(tmp_path / "out", source=tmp_path / "nothing")


def test_run_checks_report_every_item():
    names = [c.name for c in doctor.run_checks()]
    assert names[:4] == ["WordNet (METEOR)", "Punkt English model (METEOR tokenizer)", "libgomp1 (xllamacpp server)",
                         "chromium (HTML leaderboard test)"]
    assert any("smollm2-135m" in n for n in names) and any("minilm-l6" in n for n in names)


def test_missing_chromium_is_optional(monkeypatch):
    from typer.testing import CliRunner

    from dpbench.cli import app

    monkeypatch.setattr(doctor, "find_chromium", lambda: None)
    monkeypatch.setattr(doctor, "check_wordnet", lambda: doctor.Check("WordNet (METEOR)", True, "here"))
    monkeypatch.setattr(doctor, "check_punkt", lambda: doctor.Check("Punkt", True, "here"))
    res = CliRunner().invoke(app, ["doctor"])
    assert "optional" in res.output and res.exit_code == 0
    monkeypatch.setattr(doctor, "check_wordnet", lambda: doctor.Check("WordNet (METEOR)", False, "gone", "fix it"))
    assert CliRunner().invoke(app, ["doctor"]).exit_code == 1


def test_missing_punkt_is_reported_and_fix_lays_out_what_nltk_reads(tmp_path, monkeypatch):
    import nltk
    import nltk.tokenize as nt

    monkeypatch.setenv("NLTK_DATA", str(tmp_path))
    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])  # nothing else: as on a fresh machine
    nt._get_punkt_tokenizer.cache_clear()  # NLTK keeps a loaded model for the process
    check = doctor.check_punkt()
    assert not check.ok and "punkt_tab missing" in check.detail and "doctor --fix" in check.fix
    dest = doctor.fix_punkt(tmp_path)
    nt._get_punkt_tokenizer.cache_clear()
    assert dest == tmp_path / "tokenizers" / "punkt_tab" / "english" and doctor.check_punkt().ok
    # the trained model knows "Mr." is not a sentence end; the untrained fallback METEOR used does not
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    text = "Mr. Smith bought the blender. It works."
    assert nt.sent_tokenize(text) == ["Mr. Smith bought the blender.", "It works."]
    assert PunktSentenceTokenizer().tokenize(text) == ["Mr.", "Smith bought the blender.", "It works."]
