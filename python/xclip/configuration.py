"""XCLIPTextConfig, XCLIPVisionConfig and XCLIPConfig with transformers' field names and
defaults, read from and written to config.json."""

import copy
import json
import os

from . import _xclip


def read_config_json(folder):
    """The folder's config.json as a dict; xclip.FormatError / IoError name the file."""
    path = os.path.join(folder, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            config_dict = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _xclip.FormatError(f"{path}: not valid JSON: {e}") from None
    except OSError as e:
        raise _xclip.IoError(f"{path}: cannot read: {e.strerror}") from None
    if not isinstance(config_dict, dict):
        raise _xclip.FormatError(f"{path}: expected a JSON object")
    return config_dict


# PretrainedConfig's own fields (transformers 5.x), which every config carries beside its model's.
_GENERIC_DEFAULTS = dict(
    return_dict=True, output_hidden_states=False, output_attentions=False, torchscript=False, dtype=None,
    use_bfloat16=False, tf_legacy_loss=False, pruned_heads={}, tie_word_embeddings=True, is_encoder_decoder=False,
    is_decoder=False, cross_attention_hidden_size=None, add_cross_attention=False, tie_encoder_decoder=False,
    architectures=None, finetuning_task=None, id2label={0: "LABEL_0", 1: "LABEL_1"},
    label2id={"LABEL_0": 0, "LABEL_1": 1}, tokenizer_class=None, prefix=None, bos_token_id=None, pad_token_id=None,
    eos_token_id=None, sep_token_id=None, decoder_start_token_id=None, task_specific_params=None, problem_type=None)


class _Config:
    """A plain attribute bag with transformers' defaults; unknown fields are kept."""

    model_type = ""
    _defaults = {}
    # The key under which an XCLIPModel's config.json holds this config (tower configs).
    _key_in_xclip_config = None

    def __init__(self, **kwargs):
        if "torch_dtype" in kwargs:  # transformers 4.x's name of `dtype`
            kwargs.setdefault("dtype", kwargs.pop("torch_dtype"))
        for name, value in {**_GENERIC_DEFAULTS, **self._defaults}.items():
            setattr(self, name, copy.deepcopy(value))
        for name, value in kwargs.items():
            setattr(self, name, value)
        if isinstance(self.id2label, dict):  # JSON keys are strings
            self.id2label = {int(k): v for k, v in self.id2label.items()}

    @property
    def use_return_dict(self):
        return self.return_dict

    @property
    def torch_dtype(self):
        return self.dtype

    @property
    def num_labels(self):
        return len(self.id2label)

    def to_dict(self):
        out = {k: copy.deepcopy(v) for k, v in self.__dict__.items() if not k.startswith("_")}
        if self.model_type:
            out["model_type"] = self.model_type
        return out

    def to_json_string(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"

    @classmethod
    def from_dict(cls, config_dict, return_unused_kwargs=False, **kwargs):
        """As transformers: keyword arguments naming a field of the config override it; the
        others are unused, and returned as (config, unused) with return_unused_kwargs=True."""
        values = {k: v for k, v in dict(config_dict).items() if k != "model_type"}
        config = cls(**values)
        unused = {}
        for name, value in kwargs.items():
            if hasattr(config, name):
                setattr(config, name, value)
            else:
                unused[name] = value
        return (config, unused) if return_unused_kwargs else config

    @classmethod
    def from_pretrained(cls, path_or_id, revision=None, local_files_only=False, **kwargs):
        folder = _xclip.resolve_model(str(path_or_id), revision or "", offline=bool(local_files_only))
        return cls._from_full_dict(read_config_json(folder), **kwargs)

    @classmethod
    def _from_full_dict(cls, config_dict, **kwargs):
        if cls._key_in_xclip_config and config_dict.get("model_type") == "xclip":
            config_dict = config_dict.get(cls._key_in_xclip_config) or {}
        return cls.from_dict(config_dict, **kwargs)

    def save_pretrained(self, folder):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as f:
            f.write(self.to_json_string())

    def __eq__(self, other):
        return type(self) is type(other) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return f"{type(self).__name__} {self.to_json_string()}"


class XCLIPTextConfig(_Config):
    model_type = "xclip_text_model"
    _defaults = dict(
        vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8,
        max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, attention_dropout=0.0,
        initializer_range=0.02, initializer_factor=1.0, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    _key_in_xclip_config = "text_config"


class XCLIPVisionConfig(_Config):
    model_type = "xclip_vision_model"
    _defaults = dict(
        hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, mit_hidden_size=512,
        mit_intermediate_size=2048, mit_num_hidden_layers=1, mit_num_attention_heads=8, num_channels=3,
        image_size=224, patch_size=32, num_frames=8, hidden_act="quick_gelu", layer_norm_eps=1e-5,
        attention_dropout=0.0, initializer_range=0.02, initializer_factor=1.0, drop_path_rate=0.0)
    _key_in_xclip_config = "vision_config"


class XCLIPConfig(_Config):
    model_type = "xclip"
    _defaults = dict(
        projection_dim=512, prompt_layers=2, prompt_alpha=0.1, prompt_hidden_act="quick_gelu",
        prompt_num_attention_heads=8, prompt_attention_dropout=0.0, prompt_projection_dropout=0.0,
        logit_scale_init_value=2.6592, initializer_factor=1.0)

    def __init__(self, text_config=None, vision_config=None, **kwargs):
        super().__init__(**kwargs)
        self.text_config = self._sub(XCLIPTextConfig, text_config)
        self.vision_config = self._sub(XCLIPVisionConfig, vision_config)

    @staticmethod
    def _sub(cls, value):
        if value is None:
            return cls()
        if isinstance(value, cls):
            return copy.deepcopy(value)
        return cls.from_dict(value)

    @classmethod
    def from_text_vision_configs(cls, text_config, vision_config, **kwargs):
        return cls(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(), **kwargs)

    def to_dict(self):
        out = super().to_dict()
        out["text_config"] = self.text_config.to_dict()
        out["vision_config"] = self.vision_config.to_dict()
        return out
