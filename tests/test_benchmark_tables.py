"""README tables rendered from benchmark results must equal what their JSON renders (benchmarks/render.py)."""
from __future__ import annotations

import importlib.util
import json
import shutil

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def render():
    spec = importlib.util.spec_from_file_location("seqgen_bench_render", REPO / "benchmarks" / "render.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_tables_match_their_results(render):
    stale = render.check(REPO)
    assert not stale, f"README tables differ from benchmarks/results: {stale}; run `python benchmarks/render.py`"


def test_a_drifted_table_is_caught_and_rewritten(render, tmp_path):
    results = sorted((REPO / "benchmarks" / "results").glob("*.json"))
    assert results, "no benchmark results committed"
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    shutil.copy(results[0], tmp_path / "benchmarks" / "results" / results[0].name)
    key = results[0].stem
    doc = f"# x\n\n<!-- table:{key} -->\n| old | table |\n<!-- /table -->\n\n<!-- table:run:runs/absent -->\nkept\n<!-- /table -->\n"
    (tmp_path / "README.md").write_text(doc)
    assert render.check(tmp_path, ["README.md"]) == [f"README.md: {key}"]
    new, changed, skipped = render.update_text(doc, tmp_path)
    assert changed == [key] and skipped == ["run:runs/absent"] and "| old |" not in new and "kept" in new
    (tmp_path / "README.md").write_text(new)
    assert render.check(tmp_path, ["README.md"]) == []
    assert json.loads(results[0].read_text())["rows"]


def test_run_directory_table(render, tmp_path):
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"world_size": 2, "autoencoder_history": {"epoch": [1, 2],
                                                  "train_loss": [3.0, 2.5]}}))
    (run / "eval.json").write_text(json.dumps({"default": {"rows": {"generated": {"inception_score": 3.5,
                                                                                   "fid_test": 157.2}}}}))
    table = render.render_key("run:runs/r", tmp_path)
    assert "| processes (world size) | 2 |" in table and "| generated IS | 3.5 |" in table


def test_lmgae_sweep_table(render, tmp_path):
    """The recipe README's sweep table is rendered from its JSON path, both methods side by side per (d, n)."""
    rows = [{"d": 2, "n": 8, "method": m, "active_dims": k, "fd_test": fd, "fd_floor": 0.03, "steps": 100}
            for m, k, fd in (("lmgae", 2, 0.5), ("wae_gp", 8, 4.25))]
    doc = {"name": "lmgae_sweep", "rows": rows, "seeds": {"seed": 0, "network_seed": 1, "data_seed": 2},
           "meta": {"date": "d", "host": "h", "cpus": 2, "load_average": 1.0}}
    (tmp_path / "sweep.json").write_text(json.dumps(doc))
    table = render.render_key("sweep.json", tmp_path)
    assert "| 2 | 8 | 2 | 0.5 | 4.25 | 0.03 |" in table and "network 1, data 2" in table
    assert "recipes/lmgae_synthetic/README.md" in render.DOCS


def test_eval_compare_table(render, tmp_path):
    row = {"inception_score": 4.2, "fid_test": 103.1, "am_score": 0.9, "ndb": 18, "digits_covered": 10,
           "near_silent_fraction": 0.0, "voicing": {"voiced_fraction": 0.31, "f0_median_hz": 121.4,
                                                      "f0_p10_hz": 88.0, "f0_p90_hz": 190.2}}
    real = {**row, "inception_score": 9.62, "fid_test": None, "voicing": {"voiced_fraction": 0.74,
                                                                          "f0_median_hz": None}}
    doc = {"default": {"prior_type": "hmm", "temperature": 1.0, "prior_test_ll_per_frame": 22.31,
                       "rows": {"generated": row, "real_test": real}},
           "arhmm20": {"prior_type": "arhmm", "temperature": 0.5, "prior_test_ll_per_frame": 60.0,
                       "label_accuracy": {"mean": 0.815}, "rows": {"generated": {**row, "inception_score": 6.1}}}}
    (tmp_path / "eval.json").write_text(json.dumps(doc))
    lines = render.render_key("eval:eval.json", tmp_path).splitlines()
    assert len(lines) == 2 + 3  # header, rule, two priors, the real test split (no reconstruction row)
    assert lines[2].startswith("| `default` (hmm), T = 1 | 4.2 | 103.1 | 0.9 | 18 | 10 | 0.0% | 31.0% | 121 (88–190) "
                               "| 22.3 | – |")
    assert "| `arhmm20` (arhmm), T = 0.5 | 6.1 |" in lines[3] and lines[3].endswith("| 60.0 | 81.5% |")
    assert lines[4].startswith("| *real test split* | 9.62 | – |") and "| 74.0% | – |" in lines[4]
    assert render.render_key("eval:absent.json", tmp_path) is None
