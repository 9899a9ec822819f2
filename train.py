"""Hydra entry point: `python train.py model=dec`, `python train.py -m model.latent_dim=5,10,20`.

All logic lives in `seglab.train.run`; this file only composes the config.
"""

import hydra
from omegaconf import DictConfig

from seglab.rundir import register_resolvers

register_resolvers()  # ${seglab.if_set:...}: the config sends resume=RUN_DIR's output to that dir


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    from seglab.train import main_entry

    return main_entry(cfg)


if __name__ == "__main__":
    main()
