#!/usr/bin/env bash
# The committed comparison reports, each from this one command:
#
#   scripts/make_reports.sh synthetic            # -> experiments/report_synthetic/
#   scripts/make_reports.sh marketing_campaign   # -> experiments/report_marketing_campaign/
#   scripts/make_reports.sh cross                # -> experiments/report_cross_dataset/ (after the two above:
#                                                #    every store under $LOGS in one report, ranks per family,
#                                                #    Friedman + Nemenyi across datasets where there are enough)
#
# For each dataset it runs three Hydra multiruns into a fresh store logs/reports/<dataset>/
# (MLflow experiment report-<dataset>), all with every model's default settings (epochs, early
# stopping, architecture: see conf/model/*.yaml; nothing is shortened), then compare.py:
#   1. deep:      model=ae_kmeans,dec,idec  x  model.latent_dim=5,10,20  x  seed=0,1,2   (27 runs)
#   2. classical: model=kmeans,gmm,hierarchical,pca_kmeans,dbscan,hdbscan  x  seed=0,1,2 (18 runs;
#                 DBSCAN/HDBSCAN find their own k, the others k = 5; each baseline's chosen settings,
#                 clusters found and noise share are in the report's "Baseline settings" table)
#   3. k sweep:   model=kmeans  x  n_clusters=2,3,4,6,7,8  x  seed=0,1,2                  (18 runs)
#      (synthetic keeps data.n_segments=5 planted segments while k varies)
# at k = n_clusters = 5 otherwise. Jobs run two at a time (hydra/launcher=local, joblib) with one
# thread each (num_threads=1). Override with env vars: SEEDS=0,1,2,3,4 LATENT=5,10,20 PYTHON=...
# LOGS=logs/reports (where the stores go), SWEEP_ONLY=1 (run the sweeps, no report),
# REPORT_ONLY=1 (re-make the report from an existing store, e.g. after a change to the report code).
# Data sources other than synthetic are read from ../shared/data (SEGLAB_SHARED_DATA).
# Five seeds or more: the report's t-based 95% intervals need them.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SEEDS=${SEEDS:-0,1,2,3,4}
LATENT=${LATENT:-5,10,20}
LOGS=${LOGS:-logs/reports}
[ $# -gt 0 ] || { echo "usage: $0 synthetic|marketing_campaign|<conf/data name> ..." >&2; exit 2; }
# The code the runs used (a sweep takes long: run it from a clean checkout, not a tree being edited).
commit=${SEGLAB_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
if [ -z "${SEGLAB_COMMIT:-}" ] && [ -n "$(git status --porcelain -- src conf train.py 2>/dev/null)" ]; then
  commit="$commit+uncommitted changes"
fi

for name in "$@"; do
  if [ "$name" = cross ]; then
    uris=()
    for db in "$LOGS"/*/mlflow.db; do uris+=(--tracking-uri "sqlite:///$(cd "$(dirname "$db")" && pwd)/mlflow.db"); done
    "$PY" scripts/compare.py "${uris[@]}" --out experiments/report_cross_dataset --no-embedding \
      --title "seglab cross-dataset report" \
      --note "Made by \`scripts/make_reports.sh cross\` from every store under $LOGS (each made by \`scripts/make_reports.sh <dataset>\`; see that dataset's report for how); report code at commit $commit."
    continue
  fi
  logs="$LOGS/$name"
  if [ -z "${REPORT_ONLY:-}" ]; then   # REPORT_ONLY=1: re-make the report from the existing store
    rm -rf "$logs"
    common=(hydra/launcher=local num_threads=1 "data=$name" "log_dir=$logs" "logger.experiment_name=report-$name")
    ksweep=()
    [ "$name" = synthetic ] && ksweep=(data.n_segments=5)
    start=$(date +%s)
    mkdir -p "$logs"
    echo "commit=$commit seeds=$SEEDS latent=$LATENT load_at_start=$(cut -d' ' -f1-3 /proc/loadavg)" > "$logs/sweep_info"
    "$PY" train.py -m "${common[@]}" model=ae_kmeans,dec,idec "model.latent_dim=$LATENT" "seed=$SEEDS"
    "$PY" train.py -m "${common[@]}" model=kmeans,gmm,hierarchical,pca_kmeans,dbscan,hdbscan "seed=$SEEDS"
    "$PY" train.py -m "${common[@]}" "${ksweep[@]}" model=kmeans n_clusters=2,3,4,6,7,8 "seed=$SEEDS"
    echo "$(( $(date +%s) - start ))" > "$logs/sweep_seconds"
    # CPU seconds of the sweeps (user + system of every child process), and the load at the end
    times > "$logs/sweep_times"   # not in a pipeline: a pipeline's subshell has no children to count
    tail -1 "$logs/sweep_times" | awk '{print $1" "$2}' > "$logs/sweep_cpu"
    echo "load_at_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$logs/sweep_info"
  fi
  [ -n "${SWEEP_ONLY:-}" ] && continue
  store="sqlite:///$(cd "$logs" && pwd)/mlflow.db"
  "$PY" scripts/compare.py --tracking-uri "$store" --experiment "report-$name" \
    --out "experiments/report_$name" --title "seglab comparison report: $name" \
    --note "Made by \`scripts/make_reports.sh $name\` (the sweeps are listed in that script's header; every model at its default settings); report code at commit $commit. The sweeps ($(head -1 "$logs/sweep_info" 2>/dev/null)) took $(cat "$logs/sweep_seconds") s wall (CPU user+system: $(cat "$logs/sweep_cpu" 2>/dev/null || echo 'not recorded')) on a shared $(nproc)-core CPU machine ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), two jobs at a time; $(tail -n +2 "$logs/sweep_info" 2>/dev/null)."
done
