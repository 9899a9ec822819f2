"""Hydra entry point: `python train.py model=dec`, `python train.py -m model.latent_dim=5,10,20`.

All logic lives in `seglab.train.run`; this file only composes the config.
"""

import hydra
from omegaconf import DictConfig


@hydra.main(config_path="conf", config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float | None:
    from seglab.train import main_entry

    return main_entry(cfg)


if __name__ == "__main__":
    main()
