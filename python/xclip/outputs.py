"""Output objects shaped like transformers' ModelOutput: attributes, keys (fields that are
set) and tuple indexing."""


class ModelOutput(dict):
    _fields = ()

    def __init__(self, **values):
        super().__init__()
        for name in self._fields:
            value = values.pop(name, None)
            object.__setattr__(self, name, value)
            if value is not None:
                self[name] = value
        if values:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(values)}")

    def __getitem__(self, key):
        if isinstance(key, (int, slice)):
            return self.to_tuple()[key]
        return super().__getitem__(key)

    def __getattr__(self, name):
        raise AttributeError(f"{type(self).__name__} has no field '{name}'")

    def to_tuple(self):
        """The set fields in order, nested outputs as tuples too (transformers' to_tuple)."""
        return tuple(v.to_tuple() if isinstance(v, ModelOutput) else v for v in self.values())

    def __repr__(self):
        inner = ", ".join(f"{k}=<{type(v).__name__}>" for k, v in self.items())
        return f"{type(self).__name__}({inner})"


class BaseModelOutputWithPooling(ModelOutput):
    _fields = ("last_hidden_state", "pooler_output", "hidden_states", "attentions")


class XCLIPOutput(ModelOutput):
    _fields = ("loss", "logits_per_video", "logits_per_text", "text_embeds", "video_embeds", "text_model_output",
               "vision_model_output", "mit_output")
