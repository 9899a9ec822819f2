"""Time-split forecasts per segment: who buys again, who churns, what each segment is worth.

``time_split`` cuts a dataset into a calibration period (features, segments and models) and a
holdout period (outcomes); ``BetaGeoModel`` / ``GammaGammaModel`` are the BG/NBD and
Gamma-Gamma models; ``write_forecasts`` fits, forecasts and scores one run (``predict=on``).
"""

from seglab.predict.btyd import BetaGeoModel, GammaGammaModel
from seglab.predict.forecast import write_forecasts
from seglab.predict.split import TimeSplit, rfm_summary, time_split

__all__ = ["BetaGeoModel", "GammaGammaModel", "TimeSplit", "rfm_summary", "time_split", "write_forecasts"]
