"""Comparison reports (seglab.report): numbers against the tracker, HTML in a real browser.

The module builds one small MLflow store by hand with ``MlflowClient`` (schema creation costs
seconds, so once): two datasets, classical models (k-means at k=4 and 5, a GMM) and a deep one
(DEC at two latent sizes), three seeds each, one failed run, run dirs with the files a real run
writes. The report made from it is checked against statistics the test computes itself from
``MlflowClient``, and rendered by headless Chromium.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient
from scipy import stats as scipy_stats

from seglab.report.commands import split_overrides
from seglab.report.compare import main, make_report
from seglab.report.table import Method, MetricSpec, compare_to_classical, swept_params

ROOT = Path(__file__).resolve().parents[1]
KMEANS = "seglab.models.kmeans.KMeansModel"
GMM = "sklearn.mixture.GaussianMixture"  # a classical model class without `is_deep`
DEC = "seglab.models.dec.DEC"
METRICS = {"eval/silhouette": "Silhouette ↑", "eval/calinski_harabasz": "Calinski-Harabasz ↑",
           "eval/davies_bouldin": "Davies-Bouldin ↓", "eval/acc": "ACC ↑", "eval/nmi": "NMI ↑", "eval/ari": "ARI ↑"}
SWEEP = "/somewhere/multiruns/2025-01-01/12-00-00"


def _methods_toy():
    """(dataset, target, n_clusters, latent_dim, expected label) of every method in the store."""
    return [("toy", KMEANS, 4, None, "k-means(k=4)"), ("toy", KMEANS, 5, None, "k-means(k=5)"),
            ("toy", GMM, 5, None, "GMM"), ("toy", DEC, 5, 5, "DEC(latent_dim=5)"),
            ("toy", DEC, 5, 10, "DEC(latent_dim=10)"),
            ("toy2", KMEANS, 3, None, "k-means"), ("toy2", DEC, 3, 8, "DEC")]


def _write_run_dir(path: Path, k: int, seed: int, overrides: list[str] | None) -> None:
    rng = np.random.default_rng(seed + 10 * k)
    path.mkdir(parents=True)
    shares = rng.dirichlet(np.ones(k) * 3)
    sizes = np.round(shares * 400).astype(int)
    rows = [{"segment": str(s), "size": int(sizes[s]), "share": float(sizes[s] / sizes.sum()),
             "recency_days": float(rng.uniform(5, 300)), "frequency": float(rng.uniform(1, 30)),
             "monetary": float(rng.uniform(20, 3000)), "tenure_days": float(rng.uniform(30, 900))}
            for s in range(k)]
    rows.append({"segment": "all", "size": int(sizes.sum()), "share": 1.0, "recency_days": 100.0,
                 "frequency": 10.0, "monetary": 500.0, "tenure_days": 400.0})
    pd.DataFrame(rows).to_csv(path / "profiles.csv", index=False)
    if k == 3:  # toy2's runs also have evaluate's deviations (z against the population)
        dev = pd.DataFrame(rng.normal(size=(k, 4)), index=pd.Index([str(s) for s in range(k)], name="segment"),
                           columns=["recency_days", "frequency", "monetary", "tenure_days"])
        dev.to_csv(path / "profile_deviations.csv")
    (path / "config.yaml").write_text(f"seed: {seed}\nn_clusters: {k}\n")
    if overrides is not None:
        (path / ".hydra").mkdir()
        (path / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_store")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp_ids = {d: client.create_experiment(f"seglab-{d}", artifact_location=(root / "art" / d).as_uri())
               for d in ("toy", "toy2")}
    rng = np.random.default_rng(0)
    for i, (dataset, target, k, latent, _label) in enumerate(_methods_toy()):
        for seed in (0, 1, 2):
            overrides = [f"data={dataset}", f"model={target.rsplit('.', 1)[-1].lower()}", f"n_clusters={k}",
                         f"seed={seed}"] + ([f"model.latent_dim={latent}", "model.hidden_dims=[64,32]"] if latent else [])
            run_dir = root / "runs" / f"{i}_{seed}"
            _write_run_dir(run_dir, k, seed, overrides if seed != 1 else None)  # seed 1: only the tag
            params = {"seed": str(seed), "n_clusters": str(k), "data.name": dataset, "model._target_": target,
                      "model.n_clusters": str(k), "model.random_state": str(seed), "log_dir": str(root),
                      "logger.experiment_name": f"seglab-{dataset}"}
            if latent:  # deep models take the Lightning trainer settings
                params.update({"model.latent_dim": str(latent), "model.trainer_kwargs.accelerator": "cpu"})
            tags = {"seglab.run_dir": str(run_dir), "seglab.dataset": dataset, "seglab.model": target,
                    "seglab.overrides": ",".join(overrides),
                    "seglab.command": "train.py -m " + " ".join(overrides[:3]) + " seed=0,1,2"}
            if dataset == "toy":
                tags["seglab.sweep_id"] = SWEEP
            run = client.create_run(exp_ids[dataset], tags=tags)
            metrics = {"eval/silhouette": rng.uniform(0.1, 0.6) + (0.1 if latent else 0),
                       "eval/calinski_harabasz": rng.uniform(100, 900), "eval/davies_bouldin": rng.uniform(0.5, 2),
                       "time/fit_s": rng.uniform(0.1, 20)}
            if dataset == "toy":
                metrics.update({"eval/acc": rng.uniform(0.3, 0.9), "eval/nmi": rng.uniform(0.1, 0.7)})
                if not (latent == 10 and seed == 2):  # one run without ARI: that cell has n=2
                    metrics["eval/ari"] = rng.uniform(0.0, 0.6)
            if latent:
                metrics["eval/latent_silhouette"] = rng.uniform(0.3, 0.8)
            client.log_batch(run.info.run_id, metrics=[Metric(k_, float(v), 0, 0) for k_, v in metrics.items()],
                             params=[Param(k_, v) for k_, v in params.items()])
            client.set_terminated(run.info.run_id, "FINISHED")
    failed = client.create_run(exp_ids["toy"], tags={"seglab.dataset": "toy", "seglab.model": KMEANS,
                                                     "seglab.overrides": "model=kmeans,model.n_init=0,seed=0",
                                                     "seglab.sweep_id": SWEEP})
    client.log_batch(failed.info.run_id, params=[Param("seed", "0"), Param("model._target_", KMEANS),
                                                 Param("n_clusters", "4"), Param("data.name", "toy")])
    client.set_terminated(failed.info.run_id, "FAILED")
    return uri, client, failed.info.run_id


@pytest.fixture(scope="module")
def report(store, tmp_path_factory):
    uri, _, _ = store
    out = tmp_path_factory.mktemp("report")
    make_report(uri, out, ["seglab-toy", "seglab-toy2"], embedding=False, command="python scripts/compare.py --out x")
    return out


def parse_tables(markdown: str, heading: str) -> dict[str, list[dict[str, str]]]:
    """Every Markdown table following a '### heading', keyed by the dataset section it is in."""
    tables, dataset, lines = {}, None, markdown.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## Dataset `"):
            dataset = line.split("`")[1]
        if line.strip() == f"### {heading}":
            j = i + 1
            while not lines[j].startswith("|"):
                j += 1
            header = [h.strip() for h in lines[j].strip("|").split("|")]
            rows = []
            j += 2
            while j < len(lines) and lines[j].startswith("|"):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[j].strip().strip("|"))]
                rows.append(dict(zip(header, cells, strict=True)))
                j += 1
            tables[dataset] = rows
    return tables


def parse_cell(cell: str) -> tuple[float, float, int | None, int]:
    """'**0.512 ± 0.010 (n=2)**' -> (0.512, 0.010 (the 95% interval's half-width), 2, decimals)."""
    m = re.fullmatch(r"\**(-?[\d.]+) ± (–|[\d.]+)(?: \(n=(\d+)\))?\**", cell)
    assert m, cell
    decimals = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
    std = float("nan") if m.group(2) == "–" else float(m.group(2))
    return float(m.group(1)), std, int(m.group(3)) if m.group(3) else None, decimals


def test_markdown_table_equals_the_trackers_numbers(store, report):
    uri, client, _ = store
    tables = parse_tables((report / "report.md").read_text(), "Methods × metrics (mean ± 95% interval over seeds)")
    assert set(tables) == {"toy", "toy2"}
    labels = {label: (d, t, k, lat) for d, t, k, lat, label in _methods_toy()}
    checked = 0
    for dataset, rows in tables.items():
        assert {r["Method"] for r in rows} == {lab for lab, v in labels.items() if v[0] == dataset}
        exp = client.get_experiment_by_name(f"seglab-{dataset}")
        tracked = client.search_runs([exp.experiment_id])
        for row in rows:
            _, target, k, latent = labels[row["Method"]]

            def same(r, target=target, k=k, latent=latent):
                return (r.data.params["model._target_"] == target and r.data.params["n_clusters"] == str(k)
                        and r.data.params.get("model.latent_dim") == (str(latent) if latent else None))

            mine = [r for r in tracked if r.info.status == "FINISHED" and same(r)]
            n_failed = sum(1 for r in tracked if r.info.status == "FAILED" and same(r))  # counted against it
            assert len(mine) == 3 and row["n"] == str(3 + n_failed)
            assert row["kind"] == ("deep" if target == DEC else "classical")
            for key, col in METRICS.items():
                values = [r.data.metrics[key] for r in mine if key in r.data.metrics]
                if not values:
                    assert row.get(col, "–") == "–"
                    continue
                mean, half, n, decimals = parse_cell(row[col])
                tol = 0.5 * 10 ** -decimals + 1e-9
                assert abs(mean - statistics.fmean(values)) <= tol, (row["Method"], key)
                t = scipy_stats.t.ppf(0.975, len(values) - 1)  # Student's t interval, n - 1 df
                assert abs(half - t * statistics.stdev(values) / math.sqrt(len(values))) <= tol, (row["Method"], key)
                assert n == (None if len(values) == len(mine) + n_failed else len(values))
                checked += 1
    assert checked == 5 * 6 + 2 * 3


def test_report_lists_ranks_wins_figures_commands_and_failures(store, report):
    _, _, failed_id = store
    md = (report / "report.md").read_text()
    ranks = parse_tables(md, "Ranks, per metric family")
    assert [r["Method"] for r in ranks["toy"]]  # sorted by the first family's mean rank
    assert "mean rank" not in ranks["toy"][0]  # never one rank averaged over families
    assert {"mean rank: internal", "mean rank: external"} <= set(ranks["toy"][0])
    internal = [float(r["mean rank: internal"]) for r in ranks["toy"] if r["mean rank: internal"] != "–"]
    assert internal == sorted(internal)
    # internal criteria are ranked only at the reference k (the deep methods' k = 5)
    assert ranks["toy"][-1]["mean rank: internal"] == "–" and "k=4" in ranks["toy"][-1]["Method"]
    wins = parse_tables(md, "Deep methods against the best classical baseline")
    assert {r["Deep method"] for r in wins["toy"]} == {"DEC(latent_dim=5)", "DEC(latent_dim=10)"}
    for row in wins["toy"]:  # 3 seeds a side: too few for a claim (Welch's test needs 5)
        assert row["W/T/L"] == "0/0/0"
        assert sum(v.startswith("n too small") for v in row.values()) == 6
    # DEC asks for k=5: its baselines are the classical methods at k=5, never k-means(k=4)
    headers = [h for h in wins["toy"][0] if " vs " in h]
    assert len(headers) == 6 and all(h.endswith(("vs k-means(k=5)", "vs GMM")) for h in headers)
    assert "against model.latent_dim" in md.replace("`", "")
    assert "Criteria against the number of segments k" in md
    for png in re.findall(r"\]\((figures/[^)]+\.png)\)", md):
        assert (report / png).stat().st_size > 5000
    assert len(re.findall(r"\]\((figures/[^)]+\.png)\)", md)) >= 8
    # exact per-run commands, from .hydra/overrides.yaml or the tag (bracketed lists stay whole)
    assert "python train.py data=toy model=dec n_clusters=5 seed=1 model.latent_dim=5 'model.hidden_dims=[64,32]'" in md
    assert "python train.py -m data=toy model=kmeansmodel n_clusters=4 seed=0,1,2" in md
    assert failed_id in md and "FAILED" in md
    toy, toy2 = md.split("## Dataset `toy2`")
    assert "colour = segment means z-scored across segments" in toy
    assert "colour = each segment's mean against the population" in toy2
    runs = pd.read_csv(report / "runs.csv")
    assert len(runs) == 7 * 3 + 1
    summary = pd.read_csv(report / "summary.csv")
    assert set(summary["dataset"]) == {"toy", "toy2"}


def test_filters_and_cli(store, tmp_path, capsys):
    uri, _, _ = store
    out = tmp_path / "sweep_only"
    code = main(["--tracking-uri", uri, "--sweep-id", "2025-01-01/12-00-00", "--tag", "seglab.model=" + DEC,
                 "--no-embedding", "--out", str(out)])
    assert code == 0
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 6 and set(runs["dataset"]) == {"toy"} and set(runs["model"]) == {DEC}
    md = (out / "report.md").read_text()
    assert "Not applicable: this dataset has no classical method." in md
    assert "python scripts/compare.py --tracking-uri" in md  # the command that made it
    assert main(["--tracking-uri", uri, "--experiment", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "no experiment named 'nope'" in capsys.readouterr().err
    assert (ROOT / "scripts" / "compare.py").read_text().count("from seglab.report.compare import main") == 1


def test_split_overrides_keeps_brackets_and_quotes_whole():
    assert split_overrides("model=dec,model.hidden=[500,500,2000],seed=1") == [
        "model=dec", "model.hidden=[500,500,2000]", "seed=1"]
    assert split_overrides("a='x,y',b={c:1,d:2}") == ["a='x,y'", "b={c:1,d:2}"]
    assert split_overrides("(defaults)") == []


def test_swept_params_drop_seed_followers_and_duplicates():
    runs = pd.DataFrame({"param.seed": ["0", "1", "0", "1"], "param.model.random_state": ["0", "1", "0", "1"],
                         "param.n_clusters": ["4", "4", "5", "5"], "param.model.n_clusters": ["4", "4", "5", "5"],
                         "param.log_dir": ["a", "b", "c", "d"], "param.model.lr": ["0.1"] * 4})
    assert swept_params(runs) == ["n_clusters"]


def _method(label, deep, values):
    runs = pd.DataFrame({"metric.m": values})
    stats = {"m": (float(np.mean(values)), float(np.std(values, ddof=1)), len(values))}
    return Method("d", label, "x." + label, deep, {}, runs, stats)


def test_wins_need_a_significant_welch_test_on_enough_seeds():
    up, down = MetricSpec("m", "M", True), MetricSpec("m", "M", False)
    a = [0.50, 0.51, 0.49, 0.50, 0.505]
    classical = [_method("A", False, a), _method("B", False, [0.40, 0.41, 0.39, 0.40, 0.40])]
    deep = _method("D", True, [0.55, 0.56, 0.54, 0.555, 0.55])
    outcome = compare_to_classical(deep, classical + [deep], up)
    assert outcome.result == "win" and outcome.baseline == "A" and outcome.p_value < 0.001
    close = _method("E", True, [0.51, 0.49, 0.52, 0.50, 0.50])  # within the seeds' spread
    assert compare_to_classical(close, classical + [close], up).result == "tie"
    # lower is better: B is the best classical, D is worse
    assert compare_to_classical(deep, classical + [deep], down).baseline == "B"
    assert compare_to_classical(deep, classical + [deep], down).result == "loss"
    few = _method("F", True, [0.9, 0.91, 0.92])  # far better, but on 3 seeds: no claim
    assert compare_to_classical(few, classical + [few], up).result == "n too small"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_renders_in_headless_chromium(report, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must install it (apt-get install -y chromium)")
        pytest.skip("chromium not installed (apt-get install -y chromium); required in CI")
    page = (report / "report.html").resolve()
    html_text = page.read_text()
    assert "http://" not in html_text and "https://" not in html_text and "<script" not in html_text
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<table class="results">') >= 6
    n_images = dom.stdout.count('<img src="data:image/png;base64,')
    assert n_images == len(list((report / "figures").glob("*.png"))) >= 8
    assert "DEC(latent_dim=10)" in dom.stdout and "k-means(k=4)" in dom.stdout

    shot = tmp_path / "report.png"
    res = subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars",
                                  page.as_uri()], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[:2] == (2000, 1280)
    colours = len(np.unique(img.reshape(-1, 3)[::7], axis=0))
    non_white = float((img < 245).any(axis=2).mean())
    assert colours > 50 and non_white > 0.05, (colours, non_white)
    if os.environ.get("SEGLAB_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["SEGLAB_KEEP_SCREENSHOT"])


def test_nan_free_summary(report):
    summary = pd.read_csv(report / "summary.csv")
    full = summary[summary["n"] == summary["n_runs"]]
    assert full["mean"].map(math.isfinite).all()


def test_report_on_real_runs_redraws_the_embedding(store, tmp_path):
    """Real runs from ``seglab.train.run``: the 2-D view is drawn from the embedding the run saved
    (no data reloaded, no model loaded)."""
    from hydra import compose, initialize_config_dir

    from seglab.train import run

    uri, _, _ = store  # reuse the module's store (creating a schema costs seconds): own experiment
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[f"log_dir={tmp_path}", f"logger.tracking_uri={uri}", "model=kmeans",
                                           "data.n_customers=200", "logger.experiment_name=real", "num_threads=1"])
    run(cfg, run_dir=tmp_path / "run0")
    out = tmp_path / "report"
    make_report(uri, out, ["real"], max_points=150, projections=("pca", "tsne"), interactive=True)
    md = (out / "report.md").read_text()
    live = (out / "interactive.html").read_text()  # Plotly, embedded: nothing fetched
    assert live.count("Plotly.newPlot") >= 3 and not re.search(r"<script[^>]*\bsrc=", live)
    assert "<script" not in (out / "report.html").read_text()  # the static report stays script-free
    assert "as the run saved it (embedding.parquet), for 150 of 200 customers" in md
    assert "preprocessed features (d=" in md and "Projections: PCA, t-SNE" in md
    assert list((out / "figures").glob("*_embedding.png"))
    table = parse_tables(md, "Methods × metrics (mean ± 95% interval over seeds)")["synthetic"]
    assert [r["Method"] for r in table] == ["k-means"] and table[0]["n"] == "1"
    # the same report from the run dir alone (a logger=none sweep): the same numbers
    from_dirs = tmp_path / "report_dirs"
    make_report(None, from_dirs, runs_dirs=[tmp_path], embedding=False)
    rows = parse_tables((from_dirs / "report.md").read_text(), "Methods × metrics (mean ± 95% interval over seeds)")
    assert rows["synthetic"] == table
    assert (from_dirs / "tables.tex").read_text().count(r"\begin{tabular}") >= 2


def test_deep_means_lightning_trained_not_is_deep():
    from seglab.report.table import is_deep_model

    pca = pd.DataFrame({"param.model._target_": ["seglab.models.classical.PCAKMeansModel"],
                        "metric.eval/latent_silhouette": [0.3]})  # learns an embedding, still classical
    dec = pd.DataFrame({"param.model._target_": [DEC], "param.model.trainer_kwargs.accelerator": ["cpu"]})
    assert not is_deep_model("seglab.models.classical.PCAKMeansModel", pca)
    assert is_deep_model(DEC, dec)
    assert is_deep_model(DEC, dec.assign(**{"tag.seglab.model_kind": "deep"}))
    assert not is_deep_model(DEC, dec.assign(**{"tag.seglab.model_kind": "classical"}))


def test_a_metric_registered_once_reaches_the_summary_the_tracker_and_the_report(store, tmp_path, capsys):
    """Adding a metric is one registration: the run computes and tracks it, the console summary
    prints it, the comparison report ranks it (with its direction) beside the built-in ones."""
    from hydra import compose, initialize_config_dir

    from seglab.evaluate.registry import MetricSpec, registered
    from seglab.train import print_summary, run

    def size_ratio(inputs):  # largest over smallest segment: 1 = balanced
        return float(inputs.shares.max() / inputs.shares[: inputs.k].min())

    uri, client, _ = store
    spec = MetricSpec("eval/size_ratio", "Size ratio", False, family="sizes", summary=True, report="rank",
                      compute=size_ratio)
    with registered(spec):
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("config", overrides=[f"log_dir={tmp_path}", f"logger.tracking_uri={uri}", "model=kmeans",
                                               "data.n_customers=200", "text=none", "explain.enabled=false",
                                               "logger.experiment_name=registry", "num_threads=1"])
        result = run(cfg, run_dir=tmp_path / "run0")
        sizes = np.bincount(result.labels)
        assert result.metrics["eval/size_ratio"] == pytest.approx(sizes.max() / sizes.min())
        assert client.get_run(result.mlflow_run_id).data.metrics["eval/size_ratio"] == pytest.approx(
            result.metrics["eval/size_ratio"])
        print_summary(cfg, result)
        assert f"size_ratio={result.metrics['eval/size_ratio']:.4g}" in capsys.readouterr().out
        make_report(uri, tmp_path / "report", ["registry"], embedding=False)
    md = (tmp_path / "report" / "report.md").read_text()
    row = parse_tables(md, "Methods × metrics (mean ± 95% interval over seeds)")["synthetic"][0]
    mean, _, _, decimals = parse_cell(row["Size ratio ↓"])
    assert abs(mean - result.metrics["eval/size_ratio"]) <= 0.5 * 10 ** -decimals
    assert "Size ratio" in parse_tables(md, "Ranks, per metric family")["synthetic"][0]
