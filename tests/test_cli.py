"""The `plansearch` command: build summary, query output, JSON parity with the API, errors."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from search.cli import main


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    """A keyword-only index of the real corpus built through the CLI."""
    path = tmp_path_factory.mktemp("cli-index")
    assert main(["build", "--index", str(path), "--model", "none", "--quiet"]) == 0
    return path


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "search.cli", *args], capture_output=True, text=True, timeout=300)


def test_build_prints_a_summary_per_document(tmp_path):
    result = run("build", "--index", str(tmp_path / "idx"), "--model", "none", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "gazette-soil-census-notice" in result.stdout and "fuling-plan" in result.stdout
    assert "passages" in result.stdout and "tables" in result.stdout and "headings" in result.stdout


def test_query_json_has_the_api_fields(index_dir, capsys):
    assert main(["query", "专精特新", "--mode", "keyword", "--json", "--index", str(index_dir), "--model", "none"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["mode"] == "keyword" and data["total"] >= 3
    first = data["results"][0]
    assert {"id", "text", "highlight", "score", "document", "heading_path", "citation", "url", "duplicates"} <= set(first)
    assert "专精特新" in first["text"] and "<mark>" in first["highlight"]
    assert first["citation"].startswith("《")


def test_query_text_output_marks_terms_and_cites(index_dir, capsys):
    assert main(["query", "页岩气", "--mode", "keyword", "-k", "2", "--index", str(index_dir), "--model", "none"]) == 0
    out = capsys.readouterr().out
    assert "【页岩气】" in out and "《" in out


@pytest.mark.parametrize("args, message", [
    (["query", "   "], "empty"),
    (["query", "x" * 600], "limit"),
    (["query", "专精特新", "-k", "0"], "k must be"),
    (["query", "专精特新", "--doc", "no-such-doc"], "no-such-doc"),
])
def test_bad_input_is_a_clear_cli_error(index_dir, capsys, args, message):
    assert main([*args, "--index", str(index_dir), "--model", "none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("plansearch: error:") and message in err and "Traceback" not in err


def test_semantic_mode_without_a_model_explains_itself(index_dir, capsys):
    assert main(["query", "人才", "--mode", "semantic", "--index", str(index_dir), "--model", "none"]) == 2
    assert "PLANSEARCH_MODEL=none" in capsys.readouterr().err


def test_missing_index_is_a_clear_error(tmp_path):
    result = run("query", "专精特新", "--index", str(tmp_path / "none"))
    assert result.returncode == 2
    assert "plansearch build" in result.stderr and "Traceback" not in result.stderr


def test_the_library_never_imports_flask():
    code = ("import sys, search.engine, search.cli, search.quotes, search.answers, search.evaluation; "
            "print('flask' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
