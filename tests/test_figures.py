"""Figures: human numbers, clipped colour limits, SVG/PDF output, per-run figures, feature labels."""

import numpy as np
import pandas as pd
import pytest

from seglab import plots
from seglab.evaluate.profiles import describe, feature_label, segment_deviations, segment_profiles
from seglab.run_figures import write_run_figures


@pytest.mark.parametrize("value, text", [(1969.0, "1969"), (1968.6, "1969"), (12345.4, "12,345"),
                                         (2_500_000, "2.5M"), (0.1234, "0.123"), (42.0, "42"), (0, "0"),
                                         (float("nan"), "–")])
def test_human_numbers(value, text):
    assert plots.human(value) == text


def _profiles(z_outlier: float = 16.0):
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"Year_Birth": rng.normal(1969, 10, 300), "Income": rng.normal(50000, 9000, 300),
                             "text_sent_mean": rng.normal(0, 1, 300)})
    labels = np.repeat([0, 1, 2], 100)
    labels[:2] = 3  # a near-empty segment
    features.loc[:1, "Income"] = 50000 + z_outlier * 9000
    return segment_profiles(features, labels), segment_deviations(features, labels)


def _heatmap_image(fig):
    return next(a for a in fig.axes if a.get_images()).get_images()[0]


def test_profile_heatmap_clips_colours_and_prints_years_plainly():
    profiles, deviations = _profiles()
    assert deviations.abs().to_numpy().max() > 3 * plots.Z_CLIP  # the near-empty segment is far out
    fig = plots.profile_heatmap(profiles, "t", deviations, labels={"Income": "household income"})
    vmin, vmax = _heatmap_image(fig).get_clim()
    assert vmax == plots.Z_CLIP and vmin == -plots.Z_CLIP  # centred on 0, not set by the outlier
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert not any("e+" in t for t in texts)
    assert any(t.startswith("19") and len(t) == 4 for t in texts)  # a birth year as a year
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "household income" in ticks and "review sentiment" in ticks


def test_save_writes_each_format(tmp_path):
    profiles, deviations = _profiles(2.0)
    fig = plots.profile_heatmap(profiles, "t", deviations)
    plots.save(fig, tmp_path / "p.png", ("svg", "pdf"))
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in (tmp_path / "p.svg").read_bytes()[:500]
    assert (tmp_path / "p.pdf").read_bytes()[:4] == b"%PDF"


def test_write_run_figures(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(c, 0.3, (60, 4)) for c in (0, 3, 6)])
    labels = np.repeat([0, 1, 2], 60)
    features = pd.DataFrame(X, columns=["recency_days", "frequency", "monetary_total", "tenure_days"])
    profiles = segment_profiles(features, labels)
    out = write_run_figures(tmp_path, X, labels, profiles, latent=X[:, :2], formats=("png", "svg"), max_points=100)
    for name in ("embedding", "silhouette", "segments"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
        assert (tmp_path / f"{name}.svg").exists()
    assert out["time/figures_s"] > 0 and out["time/figures_cpu_s"] > 0
    # laid out by tight_layout and saved at the figure's own size: no second (bbox "tight") draw
    from PIL import Image

    assert Image.open(tmp_path / "silhouette.png").size == (round(6.4 * plots.RUN_DPI), round(4.8 * plots.RUN_DPI))


def test_render_tight_crops_and_untight_keeps_the_figure_size():
    import io

    from PIL import Image

    fig = plots.silhouette_plot(np.linspace(-0.1, 0.9, 40), np.repeat([0, 1], 20), "t")
    untight = Image.open(io.BytesIO(plots.render(fig, "png", 100, tight=False))).size
    tight = Image.open(io.BytesIO(plots.render(fig, "png", 100))).size
    assert untight == (640, 480) and tight != untight


def test_feature_labels_in_segment_names():
    assert feature_label("text_sent_recency_mean") == "recent review sentiment"
    assert feature_label("cat_share_books") == "share of books"
    assert feature_label("Income", {"Income": "household income"}) == "household income"
    z = pd.Series({"text_sent_mean": -2.0, "text_sent_recency_mean": -1.8, "Income": 1.5, "recency_days": 1.0})
    name = describe(z, labels={"Income": "household income"})
    assert name == "negative reviews · high household income · lapsed"
    assert "text_" not in describe(z)


def test_segment_names_from_saved_deviations_are_distinct_and_in_words():
    from seglab.evaluate.profiles import segment_names

    dev = pd.DataFrame({"text_sent_mean": [-2.0, -2.0, 0.1], "recency_days": [1.5, 1.5, 0.0]},
                       index=pd.Index(["0", "1", "noise"], name="segment"))
    names = segment_names(dev)
    assert names["0"] == "negative reviews · lapsed (segment 0)" and names["1"].endswith("(segment 1)")
    assert names["noise"] == "noise (no segment)"
