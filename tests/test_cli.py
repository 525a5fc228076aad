"""The command line never shows a user a traceback."""

import pytest

from latentcode.shell import cli


def test_an_internal_error_is_one_line(monkeypatch, capsys):
    import latentcode.shell.render as render

    monkeypatch.setattr(render, "run", lambda args: 1 / 0)
    assert cli.main(["render", "piece.lc"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: ZeroDivisionError" in err


def test_debug_shows_the_traceback(monkeypatch):
    import latentcode.shell.render as render

    monkeypatch.setattr(render, "run", lambda args: 1 / 0)
    monkeypatch.setenv("LATENTCODE_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        cli.main(["render", "piece.lc"])


def test_a_missing_piece_is_one_clear_line(capsys, tmp_path):
    assert cli.main(["render", str(tmp_path / "nope.lc")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no file" in err
