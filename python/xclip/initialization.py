"""Random weights for a model built from a config, with transformers' X-CLIP initialisation
scheme (XCLIPPreTrainedModel._init_weights): every linear layer N(0, factor), then the
attention, MLP, embedding and projection weights with their scaled standard deviations;
LayerNorms at 1 / 0, biases 0, logit_scale and the prompt generator's alpha from the config."""

import re

import numpy as np

from . import _xclip

_ATTENTION = re.compile(r"\.(self_attn|message_attn)\.(q_proj|k_proj|v_proj|out_proj)\.weight$")
_MLP = re.compile(r"\.mlp\.(fc1|fc2)\.weight$")


def _tower(name, config):
    """(hidden size, layer count) of the module config `name` belongs to, as transformers
    builds them (the MIT gets a copy of the vision config with the mit_* sizes)."""
    text, vision = config["text_config"], config["vision_config"]
    if name.startswith("text_model."):
        return text["hidden_size"], text["num_hidden_layers"]
    if name.startswith("mit."):
        return vision["mit_hidden_size"], vision["mit_num_hidden_layers"]
    return vision["hidden_size"], vision["num_hidden_layers"]


def _std(name, shape, config, factor):
    """Standard deviation of a normally initialised weight; None for constants."""
    text, vision = config["text_config"], config["vision_config"]
    if name.endswith("token_embedding.weight") or name == "text_model.embeddings.position_embedding.weight":
        return 0.02 * factor
    if name == "vision_model.embeddings.class_embedding":
        return vision["hidden_size"] ** -0.5 * factor
    if name in ("vision_model.embeddings.patch_embedding.weight", "vision_model.embeddings.position_embedding.weight"):
        return vision.get("initializer_range", 0.02) * factor
    if name == "mit.position_embedding":
        return factor
    if name == "text_projection.weight":
        return text["hidden_size"] ** -0.5 * factor
    if name in ("visual_projection.weight", "prompts_visual_projection"):
        return vision["hidden_size"] ** -0.5 * factor
    attention = _ATTENTION.search(name)
    if attention:
        hidden, layers = _tower(name, config)
        if attention.group(2) == "out_proj":
            return hidden ** -0.5 * factor
        return hidden ** -0.5 * (2 * layers) ** -0.5 * factor
    mlp = _MLP.search(name)
    if mlp:
        hidden, layers = _tower(name, config)
        if mlp.group(1) == "fc1":
            return (2 * hidden) ** -0.5 * factor
        return hidden ** -0.5 * (2 * layers) ** -0.5 * factor
    if name.endswith(".weight") and len(shape) >= 2:
        return factor  # nn.Linear default of _init_weights
    return None


def _constant(name, config):
    if name == "logit_scale":
        return config.get("logit_scale_init_value", 2.6592)
    if name.endswith(".alpha"):
        return config.get("prompt_alpha", 0.1)
    if name.endswith(".bias"):
        return 0.0
    return 1.0  # LayerNorm weights


def init_weights(config_json, full_config, part, seed=None):
    """{state-dict name: float32 array} for the weights of `part`."""
    rng = np.random.default_rng(seed)
    factor = full_config.get("initializer_factor", 1.0)
    weights = {}
    for name, shape in _xclip.Model.weight_shapes(config_json, part):
        std = _std(name, shape, full_config, factor)
        if std is None:
            weights[name] = np.full(shape, _constant(name, full_config), dtype=np.float32)
        else:
            weights[name] = rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
    return weights
