"""Recipes: TOML + include + --set overrides; unknown keys and wrong types are errors naming the key."""
import pytest

from seqgen.config import ConfigError, check_options, from_dict, load_recipe
from seqgen.priors import PRIORS

REPO_RECIPES = __import__("pathlib").Path(__file__).resolve().parents[1] / "recipes"


def test_spoken_digits_recipe_loads_with_paper_settings():
    cfg = load_recipe(REPO_RECIPES / "spoken_digits")
    rep = cfg.representation.options
    assert (rep["frame_length"], rep["hop"], rep["sample_rate"]) == (800, 400, 8000)
    assert cfg.prior.type == "hmm" and (cfg.prior.options["n_states"], cfg.prior.options["covariance_type"]) == \
        (60, "full")  # measured best on generated speech; the paper's prior is the _paper variant's
    assert cfg.autoencoder.options["latent_dim"] == 80
    paper = load_recipe(REPO_RECIPES / "spoken_digits_paper")
    assert (paper.prior.type, paper.prior.options["n_states"], paper.prior.options["covariance_type"]) == \
        ("hmm", 300, "diag")
    assert paper.autoencoder == cfg.autoencoder and paper.train == cfg.train and paper.data == cfg.data


def test_variant_includes_base_and_overrides():
    cfg = load_recipe(REPO_RECIPES / "spoken_digits_7")
    assert cfg.data.options["digits"] == [7] and cfg.name == "spoken_digits_7"
    assert cfg.representation.options["hop"] == 400 and cfg.prior.options["covariance_type"] == "diag"


def test_set_overrides_are_typed():
    cfg = load_recipe(REPO_RECIPES / "spoken_digits", ["train.epochs=3", "prior.n_states=7", "data.digits=[1, 2]",
                                                      "train.lr=1"])
    assert cfg.train.epochs == 3 and cfg.prior.options["n_states"] == 7 and cfg.data.options["digits"] == [1, 2]
    assert isinstance(cfg.train.lr, float)


@pytest.mark.parametrize("override, msg", [
    ("train.epochz=3", "train.epochz"),
    ("train.epochs=three", "train.epochs"),
    ("train.epochs=true", "train.epochs"),
    ("bogus=1", "bogus"),
    ("representation=3", "representation"),
    ("noequals", "key=value"),
])
def test_bad_overrides_name_the_key(override, msg):
    with pytest.raises(ConfigError, match=msg):
        load_recipe(REPO_RECIPES / "spoken_digits", [override])


def test_component_options_checked_against_constructor():
    cls = PRIORS.resolve("gaussian")
    with pytest.raises(ConfigError, match="prior.n_statez"):
        check_options("prior", cls, {"n_statez": 3})
    with pytest.raises(ConfigError, match="prior.covariance_type"):
        check_options("prior", cls, {"covariance_type": 3})


def test_syntax_error_and_missing_recipe(tmp_path):
    (tmp_path / "config.toml").write_text("[data\nsource = 'fsdd'\n")
    with pytest.raises(ConfigError, match="syntax error"):
        load_recipe(tmp_path)
    with pytest.raises(ConfigError, match="no recipe"):
        load_recipe(tmp_path / "nope")


def test_include_cycle(tmp_path):
    (tmp_path / "a.toml").write_text('include = "b.toml"\n')
    (tmp_path / "b.toml").write_text('include = "a.toml"\n')
    with pytest.raises(ConfigError, match="cycle"):
        load_recipe(tmp_path / "a.toml")


def test_round_trip_through_dict():
    cfg = load_recipe(REPO_RECIPES / "spoken_digits")
    assert from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()


def test_switching_component_drops_old_options():
    cfg = load_recipe(REPO_RECIPES / "spoken_digits", ["prior.type=gmm", "prior.n_components=4"])
    assert cfg.prior.type == "gmm" and cfg.prior.options == {"n_components": 4}
    same = load_recipe(REPO_RECIPES / "spoken_digits", ["prior.type=hmm"])
    assert same.prior.options["n_states"] == 60


def test_included_recipe_switching_a_component_drops_its_options():
    cfg = load_recipe(REPO_RECIPES / "spoken_digits_vae")
    assert cfg.autoencoder.type == "vae" and cfg.autoencoder.options == {"beta": 0.01}
    assert cfg.prior.type == "gaussian" and cfg.prior.options == {"fixed": True}  # no hmm n_states left
    from seqgen.codecs.audio.vae import ConvVAE  # **kwargs go to the base class: its keys are checked too

    assert check_options("autoencoder", ConvVAE, {"beta": 0.5, "latent_dim": 16}) == {"beta": 0.5, "latent_dim": 16}
    with pytest.raises(ConfigError, match="autoencoder.betta"):
        check_options("autoencoder", ConvVAE, {"betta": 1.0})
    with pytest.raises(ConfigError, match="autoencoder.latent_dim"):
        check_options("autoencoder", ConvVAE, {"latent_dim": "big"})


def test_loss_options_are_passed_and_checked():
    from seqgen.pipeline.build import build_autoencoder

    cfg = load_recipe(REPO_RECIPES / "spoken_digits", ["train.loss_options.w_wave=0.3"])
    assert cfg.train.options["loss_options"] == {"w_wave": 0.3}
    build_autoencoder(cfg)
    with pytest.raises(ConfigError, match="train.loss_options.w_wav"):
        build_autoencoder(load_recipe(REPO_RECIPES / "spoken_digits", ["train.loss_options.w_wav=0.3"]))
    with pytest.raises(ConfigError, match="train.loss_options.w_wave"):
        build_autoencoder(load_recipe(REPO_RECIPES / "spoken_digits", ["train.loss_options.w_wave=much"]))
