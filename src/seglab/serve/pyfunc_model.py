"""The MLflow ``pyfunc`` model of a run, defined from code (MLflow's models-from-code).

MLflow stores this file as the model's code and the run's bundle as its artifact; nothing is
pickled. ``load_context`` loads the bundle (`seglab.pipeline.load_run` checks every hash);
``predict`` takes a feature table (``customer_id`` and the run's feature columns) and returns
``customer_id``, ``segment``, ``prob_0..`` and ``distance``, as ``seglab assign`` does.
`seglab.serve.mlflow_model.log_pyfunc` logs it.
"""

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class SegmentsModel(PythonModel):
    def load_context(self, context) -> None:
        from seglab.pipeline import SegmentationPipeline

        self.pipe = SegmentationPipeline.load(context.artifacts["bundle"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        out = self.pipe.assign(self.pipe.feature_matrix(pd.DataFrame(model_input)))
        return out.reset_index()


mlflow.models.set_model(SegmentsModel())
