"""Allowed values of the config groups that no single object is built from.

A group with a ``_target_`` (``data``, ``model``) is checked against its class's own constraints
(`seglab.config.constraints.constraints_of`). The groups below are keyword arguments of
functions (``choose_k``, ``write_forecasts``, ``Trainer``...), so their constraints are written
here, one table per group, next to the name of the code that reads them; choices come from that
code's own lists (``RULES``, ``ENGINES``, ``INPUT_SETS``, Lightning's registries), so they follow it.
``features.build`` and ``features.preprocess`` are declared by their consumers
(`seglab.features.options`, `seglab.features.preprocess.Preprocessor`), which check them too.
"""

from __future__ import annotations

from typing import Any

from seglab.config.constraints import Choice, Date, Integral, Interval, ListOf, Options, Real

AT_LEAST_1 = Interval(Integral, 1, None, closed="left")
AT_LEAST_2 = Interval(Integral, 2, None, closed="left")
AT_LEAST_0 = Interval(Integral, 0, None, closed="left")
POSITIVE = Interval(Real, 0, None, closed="neither")
NON_NEGATIVE = Interval(Real, 0, None, closed="left")
SEED = Interval(Integral, 0, 2**32 - 1, closed="both")


def root_constraints() -> dict[str, dict[str, list[Any]]]:
    """``{group prefix: {key: constraints}}`` for the root config and its function-read groups."""
    from seglab.diagnostics.choose_k import CRITERIA, RULES
    from seglab.features.engine import ENGINES
    from seglab.predict.discriminative import INPUT_SETS

    return {
        "": {  # conf/config.yaml
            "seed": [SEED],
            "n_clusters": [AT_LEAST_2, Choice("auto")],
            "log_dir": [str],
            "num_threads": [AT_LEAST_1, None],
            "resume": [str, None],
            "print_config": ["boolean"],  # seglab.train.main_entry
        },
        "privacy": {"upload_segments": ["boolean"], "allow_columns": [ListOf(str)]},  # seglab.privacy, train
        "eval": {  # seglab.evaluate.evaluate_clustering
            "silhouette_sample_size": [AT_LEAST_2],
            "small_cluster_share": [Interval(Real, 0, 1, closed="left")],
        },
        "choose_k": {  # seglab.diagnostics.choose_k.choose_k
            "k_min": [AT_LEAST_2], "k_max": [AT_LEAST_2], "rule": [Choice(*RULES)], "n_init": [AT_LEAST_1],
            "criteria": [ListOf(Choice(*CRITERIA))], "gap_references": [AT_LEAST_1],
            "gmm_covariance_type": [Choice("full", "tied", "diag", "spherical")],
            "silhouette_sample_size": [AT_LEAST_2], "max_samples": [AT_LEAST_2, None],
        },
        "profiles": {"churn_days": [POSITIVE], "margin": [NON_NEGATIVE], "discount_rate": [NON_NEGATIVE],
                     "feature_labels": [dict]},
        "figures": {"enabled": ["boolean"], "formats": [ListOf(Choice("png", "svg", "pdf"))], "umap": ["boolean"],
                    "max_points": [AT_LEAST_2]},  # seglab.run_figures.write_run_figures
        "explain": {"enabled": ["boolean"], "max_depth": [AT_LEAST_1], "n_repeats": [AT_LEAST_1],
                    "max_samples": [AT_LEAST_2, None]},  # seglab.diagnostics.explain
        "stability": {"seeds": [ListOf(SEED)], "n_bootstrap": [AT_LEAST_0],
                      "period_days": [POSITIVE, None]},  # seglab.diagnostics.run_reports
        "predict": {  # seglab.predict.split.time_split, seglab.predict.forecast.write_forecasts
            "enabled": ["boolean"], "calibration_end": [Date(), None],
            "holdout_days": [Interval(Real, 1, None, closed="left")], "horizon_days": [POSITIVE],
            "inputs": [ListOf(Choice(*INPUT_SETS))], "segment_bgnbd": ["boolean"], "min_segment_size": [AT_LEAST_1],
            "n_folds": [AT_LEAST_2], "n_bootstrap": [AT_LEAST_0], "n_threads": [AT_LEAST_1],
        },
        "logger": {"mlflow": ["boolean"], "tracking_uri": [str, None], "experiment_name": [str],
                   "csv": ["boolean"]},  # seglab.tracking
        "features": {"engine": [Choice(*ENGINES)]},  # seglab.features.engine
        "features.engine_options": {  # seglab.data.sql_engines.DuckDBRunner / SparkRunner
            "memory_limit": [str, None], "threads": [AT_LEAST_1, None], "temp_dir": [str, None],
            "spark_master": [str], "spark_driver_memory": [str],
        },
    }


def text_constraints() -> dict[str, list[Any]]:
    """``text.*`` (read by `seglab.text.features`, which checks the combinations: `resolve_config`)."""
    return {
        "name": [Choice("none", "minilm", "hf_classifier")], "model": [str, None], "head": [str, None],
        "adapter": [str, None], "label_scores": [dict, None], "batch_size": [AT_LEAST_1],
        "max_length": [Interval(Integral, 2, None, closed="left")], "device": [str],
        "backend": [Choice("auto", "torch", "ctranslate2")],
        # CTranslate2's compute types (https://opennmt.net/CTranslate2/quantization.html)
        "compute_type": [Choice("default", "auto", "int8", "int8_float32", "int8_float16", "int8_bfloat16",
                                "int16", "float16", "bfloat16", "float32")],
        "num_threads": [AT_LEAST_1, None], "progress": [Choice("auto"), "boolean"], "cache_dir": [str, None],
        "embed_dim": [AT_LEAST_0], "recency_half_life_days": [POSITIVE],
        "neutral_band": [Interval(Real, 0, 1, closed="left")],
        "negative_threshold": [Interval(Real, -1, 1, closed="both"), None], "seed": [SEED],
    }


def trainer_constraints() -> dict[str, list[Any]]:
    """``trainer.*``: the Lightning ``Trainer`` arguments seglab's configs set; the accelerator and
    strategy names come from Lightning's own registries. Other ``+trainer.*`` keys are left to Lightning."""
    import typing

    from lightning.fabric.connector import (
        _PRECISION_INPUT_INT,
        _PRECISION_INPUT_STR,
        _PRECISION_INPUT_STR_ALIAS,
    )
    from lightning.pytorch.accelerators import AcceleratorRegistry
    from lightning.pytorch.strategies import StrategyRegistry

    precisions = [*typing.get_args(_PRECISION_INPUT_STR), *typing.get_args(_PRECISION_INPUT_STR_ALIAS)]
    return {
        "accelerator": [Choice("auto", "gpu", *sorted(AcceleratorRegistry.available_accelerators()))],
        "strategy": [Choice("auto", *StrategyRegistry.available_strategies())],
        "devices": [AT_LEAST_1, Options(int, {-1}), ListOf(AT_LEAST_0), str],
        "num_nodes": [AT_LEAST_1],
        "precision": [Choice(*precisions), Options(int, set(typing.get_args(_PRECISION_INPUT_INT)))],
        "deterministic": ["boolean", Choice("warn")],
        "enable_progress_bar": ["boolean"],
        "enable_model_summary": ["boolean"],
    }
