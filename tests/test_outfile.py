"""``-o FILE``: refused when it is one of the command's inputs (by path, symbolic or hard link),
and written atomically, so a failed write leaves the old file as it was."""

from __future__ import annotations

import errno
import os
import stat

import pytest
from click.testing import CliRunner

from cnnspec.cli.main import main
from cnnspec.util import outfile

from .conftest import SPECS

LENET = (SPECS / "lenet5.yaml").read_text()


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.yaml").write_text(LENET)
    (tmp_path / "other.yaml").write_text(LENET.replace("lenet5", "other"))
    os.symlink("net.yaml", tmp_path / "link.yaml")
    os.link(tmp_path / "net.yaml", tmp_path / "hard.yaml")
    return tmp_path


COMMANDS = {
    "analyze": ["analyze", "net.yaml"],
    "sizes": ["sizes", "net.yaml"],
    "build": ["build", "net.yaml"],
    "check": ["check", "other.yaml", "net.yaml"],
    "diff": ["diff", "other.yaml", "net.yaml"],
    "draw": ["draw", "net.yaml"],
    "verify": ["verify", "net.yaml", "--no-rf"],
}


@pytest.mark.parametrize("target", ["net.yaml", "./net.yaml", "../{dir}/net.yaml", "{dir}/net.yaml",
                                    "link.yaml", "hard.yaml"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_output_that_is_an_input_is_refused(here, command, target):
    target = target.format(dir=here.name) if "../" in target else target.format(dir=here)
    result = CliRunner().invoke(main, [*COMMANDS[command], "-o", target])
    assert result.exit_code == 2, result.output
    assert "an input of this command" in result.output and "Traceback" not in result.output
    assert (here / "net.yaml").read_text() == LENET


def test_check_refuses_to_write_over_its_pyproject(here):
    (here / "pyproject.toml").write_text("[tool.cnnspec]\nfail_on = 'error'\n")
    before = (here / "pyproject.toml").read_text()
    for extra in ([], ["--config", "pyproject.toml"]):
        result = CliRunner().invoke(main, ["check", "net.yaml", *extra, "-o", "pyproject.toml"])
        assert result.exit_code == 2 and "an input of this command" in result.output
    assert (here / "pyproject.toml").read_text() == before
    result = CliRunner().invoke(main, ["check", "net.yaml", "--isolated", "-o", "report.txt"])
    assert result.exit_code in (0, 1) and (here / "report.txt").exists()


def test_import_refuses_to_write_over_the_module_it_imports(here, monkeypatch):
    (here / "mymodel.py").write_text("from torch import nn\n\n\ndef net():\n"
                                     "    return nn.Sequential(nn.ReLU())\n")
    before = (here / "mymodel.py").read_text()
    monkeypatch.syspath_prepend(str(here))
    result = CliRunner().invoke(main, ["import", "mymodel:net", "--input", "3x8x8", "-o", "mymodel.py"])
    assert result.exit_code == 2 and "an input of this command" in result.output, result.output
    assert (here / "mymodel.py").read_text() == before


def test_a_failed_write_leaves_the_old_file_intact(here, monkeypatch):
    (here / "model.py").write_text("old contents\n")
    os.chmod(here / "model.py", 0o640)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(outfile.os, "fsync", full_disk)  # the text is written, then the disk is full
    result = CliRunner().invoke(main, ["build", "net.yaml", "-o", "model.py"])
    assert result.exit_code == 2
    assert "cannot write it: No space left on device" in result.output and "Traceback" not in result.output
    assert (here / "model.py").read_text() == "old contents\n"
    assert sorted(p.name for p in here.iterdir() if p.name.endswith(".tmp")) == []  # no half file left


def test_a_write_interrupted_midway_leaves_no_half_file(here, monkeypatch):
    real = os.fdopen

    class Half:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, text):
            self.handle.write(text[: len(text) // 2])
            raise OSError(errno.EIO, os.strerror(errno.EIO))

    def fdopen(fd, mode="r", *args, **kwargs):  # only the output's handle (specs are read too)
        handle = real(fd, mode, *args, **kwargs)
        return Half(handle) if "w" in mode else handle

    monkeypatch.setattr(outfile.os, "fdopen", fdopen)
    result = CliRunner().invoke(main, ["build", "net.yaml", "-o", "fresh.py"])
    assert result.exit_code == 2 and "Input/output error" in result.output
    assert not (here / "fresh.py").exists()
    assert [p.name for p in here.iterdir() if p.name.endswith(".tmp")] == []


def test_writes_keep_the_mode_and_follow_links(here):
    (here / "model.py").write_text("old\n")
    os.chmod(here / "model.py", 0o600)
    os.symlink("model.py", here / "alias.py")
    assert CliRunner().invoke(main, ["build", "net.yaml", "-o", "alias.py"]).exit_code == 0
    assert (here / "alias.py").is_symlink()  # the link stays, the file it names is replaced
    assert (here / "model.py").read_text().startswith('"""Lenet5')
    assert stat.S_IMODE(os.stat(here / "model.py").st_mode) == 0o600
    assert CliRunner().invoke(main, ["build", "net.yaml", "-o", "new.py"]).exit_code == 0
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(here / "new.py").st_mode) == 0o666 & ~mask


def test_a_special_file_is_written_directly(here):
    os.mkfifo(here / "pipe")
    reader = os.open(here / "pipe", os.O_RDONLY | os.O_NONBLOCK)
    try:
        outfile.write_text(str(here / "pipe"), "through the pipe\n")
        assert os.read(reader, 100) == b"through the pipe\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(here / "pipe").st_mode)
    outfile.write_text(os.devnull, "nothing\n")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
