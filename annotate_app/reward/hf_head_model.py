"""The head-mode reward model as one Hugging Face model: encoder, pooling, Bradley-Terry ensemble.

An exported head-mode folder ships this file (and ``ensemble_math.py``) beside its weights, and its
config.json names them in ``auto_map``, so anyone opens it with::

    AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=True)

with no annotate-app installed and no network. The encoder's weights are in the folder
(model.safetensors) beside the head's. ``logits`` is the ensemble-mean reward of each text, [N, 1];
``member_rewards`` [K, N] holds every member's reward, for the app's ensemble probability
p(A>B) = mean_k sigmoid(r_k(a) - r_k(b)) and its spread (the uncertainty). The rewards are on the
app's calibrated scale: the logit scale the train job fitted on out-of-fold probabilities is in the
weights. Nothing here imports annotate-app: only torch and transformers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

from .ensemble_math import member_rewards, pool


class BTHeadRewardConfig(PretrainedConfig):
    """``encoder``: the encoder's own config as a dict (with its model_type); ``dim``: the vector
    size the head reads; ``members``/``hidden``: the ensemble's shape (hidden 0: linear members,
    stored with one hidden unit, b1 = 0 and w2 = 1, and no relu); ``pooling``: "mean" | "last";
    ``normalize``: unit vectors before the head."""

    model_type = "bt_head_reward"

    def __init__(
        self,
        encoder: dict | None = None,
        dim: int = 384,
        members: int = 5,
        hidden: int = 16,
        pooling: str = "mean",
        normalize: bool = True,
        **kwargs,
    ) -> None:
        self.encoder = dict(encoder or {"model_type": "bert"})
        self.dim = dim
        self.members = members
        self.hidden = hidden
        self.pooling = pooling
        self.normalize = normalize
        kwargs.setdefault("num_labels", 1)
        super().__init__(**kwargs)


@dataclass
class BTRewardOutput(SequenceClassifierOutput):
    member_rewards: torch.Tensor | None = None


class BTHeadRewardModel(PreTrainedModel):
    config_class = BTHeadRewardConfig
    base_model_prefix = "encoder"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    def __init__(self, config: BTHeadRewardConfig) -> None:
        super().__init__(config)
        encoder_config = dict(config.encoder)
        self.encoder = AutoModel.from_config(
            AutoConfig.for_model(encoder_config.pop("model_type"), **encoder_config)
        )
        k, d, h = config.members, config.dim, max(config.hidden, 1)
        self.w1 = nn.Parameter(torch.empty(k, d, h))
        self.b1 = nn.Parameter(torch.empty(k, 1, h))
        self.w2 = nn.Parameter(torch.empty(k, h))
        self.register_buffer("feature_mean", torch.zeros(d))
        self.register_buffer("feature_std", torch.ones(d))
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Only for a fresh model: an exported folder loads every weight from the checkpoint."""
        if module is self:
            k, d, h = self.w1.shape
            nn.init.normal_(self.w1, std=d**-0.5)
            nn.init.zeros_(self.b1)
            nn.init.normal_(self.w2, std=h**-0.5)
            nn.init.zeros_(self.feature_mean)
            nn.init.ones_(self.feature_std)
        else:
            super()._init_weights(module)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> BTRewardOutput:
        """Extra keyword arguments that trainers pass (``use_cache``) change nothing here."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**inputs).last_hidden_state
        vectors = pool(hidden, attention_mask, self.config.pooling, self.config.normalize)
        rewards = member_rewards(
            vectors.to(self.w1.dtype),
            self.feature_mean,
            self.feature_std,
            self.w1,
            self.b1,
            self.w2,
            linear=self.config.hidden == 0,
        )
        return BTRewardOutput(logits=rewards.mean(0).unsqueeze(-1), member_rewards=rewards)
