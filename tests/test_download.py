"""Checksummed downloads: registries match the real files, pooch fetches them and rejects a tampered one."""
import hashlib
import shutil

import pytest
from conftest import invoke

from seqgen.data import download as dl


def _sha(path):
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_fsdd_registry_matches_the_real_release(fsdd_root):
    reg = dl.registry("fsdd")
    files = {p.name: p for p in (fsdd_root / "recordings").glob("*.wav")} or \
        {p.name: p for p in fsdd_root.glob("*.wav")}
    assert len(reg) == 3000 and set(reg) == set(files)
    for name in sorted(reg)[::250]:  # a sample of 12 files, hashed for real
        assert reg[name] == _sha(files[name]), name


def test_violin_registry_is_well_formed():
    reg = dl.registry("violin")
    assert sorted(reg) == [f"john-garner_bwv1002_mov{i}.mp3" for i in (6, 7, 8)]
    assert all(v.startswith("sha256:") and len(v) == 7 + 64 for v in reg.values())


def test_download_fetches_checks_and_rejects_tampering(server, fsdd_root, tmp_path, monkeypatch):
    root, url = server
    rec = fsdd_root / "recordings" if (fsdd_root / "recordings").is_dir() else fsdd_root
    names = ["7_theo_0.wav", "3_george_12.wav"]
    for n in names:
        shutil.copy(rec / n, root / n)
    full = dl.registry("fsdd")
    monkeypatch.setattr(dl, "registry", lambda name: {n: full[n] for n in names})
    monkeypatch.setitem(dl.SOURCES, "fsdd", dl.Source("fsdd", url, subfolder="recordings"))

    dest = dl.download("fsdd", tmp_path / "cache" / "fsdd", progress=False)
    got = sorted(p.name for p in (dest / "recordings").iterdir())
    assert got == sorted(names) and all(_sha(dest / "recordings" / n) == full[n] for n in names)

    # the located data set is then found in the cache by `seqgen train`
    from seqgen.data import fsdd
    from seqgen.data.locate import locate
    monkeypatch.setenv("SEQGEN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQGEN_DATA", raising=False)
    assert locate("fsdd", fsdd.looks_valid) == (dest, "download cache")

    # a tampered file on the server is refused and not kept
    (root / names[0]).write_bytes(b"RIFF" + b"\0" * 100)
    with pytest.raises(ValueError, match="(?i)hash|sha256"):
        dl.download("fsdd", tmp_path / "other", progress=False)
    assert not (tmp_path / "other" / "recordings" / names[0]).exists()


def test_download_cli_lists_the_sources():
    out = invoke("download", "--help").output
    assert "fsdd" in out and "violin" in out and "mnist" in out
    res = invoke("download", "cifar", ok=False)
    assert res.exit_code == 2 and "cifar" in res.output


def test_download_offline_is_one_line_naming_the_failure_data_set_and_file(tmp_path, monkeypatch):
    from seqgen.data import download as dl

    # nothing listens on port 9: what an offline machine sees
    monkeypatch.setitem(dl.SOURCES, "fsdd", dl.Source("fsdd", "http://127.0.0.1:9/recordings/", subfolder="recordings"))
    res = invoke("download", "fsdd", "--dest", tmp_path / "fsdd", ok=False)
    err = res.output.strip().splitlines()[-1]
    assert res.exit_code == 1 and err.startswith("Error: network failure: cannot download the fsdd data set's file "
                                                 "recordings/0_george_0.wav (127.0.0.1:9: [Errno 111]"), err
    assert "Will attempt" not in res.output and "Traceback" not in res.output  # pooch's retry chatter stays quiet
