"""The golden model and processor cases of ../shared/golden through the Python package, with
the tolerances of the C++ golden tests (tests/model/golden_test.cc, tests/vision/processor_test.cc)."""

import json
import re

import numpy as np
import pytest

import xclip
from conftest import golden_tensor, model_dir
from compat import compat

STRICT = re.compile(r"^(logits_per_video|logits_per_text|text_embeds|video_embeds|text_features|video_features)$")


def check(name, ours, ref):
    ours = np.asarray(ours, dtype=np.float32).reshape(ref.shape)
    diff = float(np.max(np.abs(ours.astype(np.float64) - ref))) if ref.size else 0.0
    if STRICT.match(name):
        assert diff <= 2e-5, f"{name}: max |diff| {diff}"
    elif name == "loss":
        assert diff <= 1e-5 * abs(float(ref.reshape(-1)[0])), f"loss: |diff| {diff}"
    elif "attentions/" in name:
        assert diff <= 1e-5, f"{name}: max |diff| {diff}"
    else:
        limit = 1e-4 * max(1.0, float(np.max(np.abs(ref))))
        assert diff <= limit, f"{name}: max |diff| {diff} > {limit}"


def model_cases(index, presets):
    return [c for c in index if c["kind"] == "model" and c["preset"] in presets]


def _index():
    from conftest import GOLDEN
    return json.loads((GOLDEN / "index.json").read_text())["cases"]


PRESETS = ("tiny", "tiny-8f", "base-patch32")
CASES = model_cases(_index(), PRESETS)
_models = {}


def load_model(preset):
    if preset not in _models:
        _models[preset] = xclip.XCLIPModel.from_pretrained(model_dir(preset))
    return _models[preset]


def videos_from_pool(pool, videos, frames):
    out = np.stack([pool[(np.arange(frames) + 8 * v) % pool.shape[0]] for v in range(videos)])
    out[1::2] = out[1::2, ..., ::-1]
    return np.ascontiguousarray(out)


def output_value(out, name):
    """transformers' attribute path of a golden output name."""
    if name == "vision_model_output/last_hidden_state_frame0":
        return np.asarray(out.vision_model_output.last_hidden_state)[0]
    parts = name.split("/")
    value = out
    for part in parts:
        value = value[int(part)] if part.isdigit() else getattr(value, part)
    return value


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
@compat('model(..., output_hidden_states=True, output_attentions=True, return_loss=True)', 'same', 'every output of every golden case within its tolerance')
def test_model_case_matches_transformers(case):
    model = load_model(case["preset"])
    file, opts, inputs = case["file"], case["options"], case["inputs"]
    get = lambda name: golden_tensor(file, inputs[name]["key"])  # noqa: E731
    input_ids = get("input_ids") if "input_ids" in inputs else None
    attention_mask = get("attention_mask") if "attention_mask" in inputs else None
    pixel_values = get("pixel_values") if "pixel_values" in inputs else None
    if "pixel_pool" in inputs:
        pixel_values = videos_from_pool(get("pixel_pool"), opts["videos"], model.config.vision_config.num_frames)
    if "pixel_values_2v" in inputs:
        pixel_values = get("pixel_values_2v")[: opts["videos"]]
    kind = case["id"].split("/", 1)[1]
    if kind == "get_text_features":
        outputs = {"text_features": model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)}
    elif kind == "get_video_features":
        outputs = {"video_features": model.get_video_features(pixel_values=pixel_values)}
    else:
        out = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=pixel_values,
                    output_hidden_states=opts.get("output_hidden_states", False),
                    output_attentions=opts.get("output_attentions", False), return_loss=opts.get("return_loss", False),
                    interpolate_pos_encoding=opts.get("interpolate_pos_encoding", False))
        outputs = None
    compared = 0
    for name, ref in case["outputs"].items():
        if name.startswith("hooks/"):
            continue  # module-internal captures: the C++ golden test covers them through taps
        ours = outputs[name] if outputs is not None else output_value(out, name)
        check(name, ours, golden_tensor(file, ref["key"]))
        compared += 1
    assert compared > 0


PROC = [c for c in _index() if c["kind"] == "processor" and c["id"] != "proc/combined_call"]


@pytest.mark.parametrize("case", PROC, ids=[c["id"] for c in PROC])
@compat('image_processor(videos, size=, crop_size=, ...)', 'same', "VideoMAEImageProcessor's pixel values (torchvision backend; backend='pil' for 4.x's)")
def test_processor_case_matches_transformers(case):
    backend = "pil" if case["file"] == "golden_processor_alt.safetensors" else "torchvision"
    processor = xclip.XCLIPProcessor.from_pretrained(model_dir("base-patch32"), backend=backend)
    frames = golden_tensor("golden_processor.safetensors", case["inputs"]["frames"]["key"])
    ref = golden_tensor(case["file"], next(iter(case["outputs"].values()))["key"])
    if ref.shape[1] == 1:
        frames = frames[:1]  # the variants ran on the first frame
    pixel_values = processor(videos=list(frames), return_tensors="np",
                             **case["options"].get("call_kwargs", {}))["pixel_values"]
    diff = np.abs(pixel_values.astype(np.float64) - ref)
    assert np.mean(diff <= 1e-6) >= 0.999, f"only {np.mean(diff <= 1e-6):.4%} of values within 1e-6"
    assert diff.max() <= 0.0176, f"max |diff| {diff.max()} beyond one 8-bit level"


def test_combined_call_matches_transformers(golden_index):
    processor = xclip.XCLIPProcessor.from_pretrained(model_dir("base-patch32"))
    texts = golden_index["text_lists"]["basic"]
    frames = golden_tensor("golden_processor.safetensors", "proc/240x320/frames")
    out = processor(text=texts, videos=list(frames), return_tensors="np", padding=True)
    np.testing.assert_array_equal(out.input_ids, golden_tensor("golden_processor.safetensors", "proc/combined_call/input_ids"))
    diff = np.abs(out.pixel_values - golden_tensor("golden_processor.safetensors", "proc/240x320/pixel_values/default"))
    assert diff.max() <= 0.0176 and np.mean(diff <= 1e-6) >= 0.999


@compat('tokenizer(texts, padding=, truncation=, max_length=) / decode / convert_ids_to_tokens', 'same', "ids, masks, tokens and decoded text equal CLIPTokenizerFast's")
def test_tokenizer_cases_match_transformers(golden_index):
    tokenizer = xclip.AutoTokenizer.from_pretrained(model_dir("base-patch32"))
    cases = [c for c in golden_index["cases"] if c["kind"] == "tokenizer" and "texts" in c["options"]]
    assert cases
    for case in cases:
        texts = golden_index["text_lists"][case["options"]["texts"]]
        enc = tokenizer(texts, **case["options"]["call_kwargs"])
        assert enc["input_ids"] == case["input_ids"], case["id"]
        assert enc["attention_mask"] == case["attention_mask"], case["id"]
