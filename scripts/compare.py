"""Comparison report from the MLflow store: Markdown + self-contained HTML (see seglab.report.compare).

    python scripts/compare.py --tracking-uri sqlite:////abs/logs/mlflow.db \
        [--experiment NAME ...] [--sweep-id ID ...] [--tag key=value ...] --out experiments/<name>
"""

import sys

from seglab.report.compare import main

if __name__ == "__main__":
    sys.exit(main())
