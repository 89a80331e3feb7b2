"""The examples of the transformers X-CLIP documentation (../shared/seed), run with only the
`transformers` import replaced by `xclip`, a local model folder in place of the hub id and a
generated video in place of the hub download; then the same calls on the goldens' inputs
give the goldens' numbers."""

import av
import numpy as np
import pytest
import torch

from conftest import golden_tensor, make_video, model_dir
from compat import compat

MODEL = "base-patch32"  # the shapes of microsoft/xclip-base-patch32, the documentation's model


# --- helpers of the documentation, verbatim ---------------------------------------------
def read_video_pyav(container, indices):
    frames = []
    container.seek(0)
    start_index = indices[0]
    end_index = indices[-1]
    for i, frame in enumerate(container.decode(video=0)):
        if i > end_index:
            break
        if i >= start_index and i in indices:
            frames.append(frame)
    return np.stack([x.to_ndarray(format="rgb24") for x in frames])


def sample_frame_indices(clip_len, frame_sample_rate, seg_len):
    converted_len = int(clip_len * frame_sample_rate)
    end_idx = np.random.randint(converted_len, seg_len)
    start_idx = end_idx - converted_len
    indices = np.linspace(start_idx, end_idx, num=clip_len)
    indices = np.clip(indices, start_idx, end_idx - 1).astype(np.int64)
    return indices


@pytest.fixture(scope="module")
def file_path(tmp_path_factory):
    """In place of hf_hub_download(repo_id="nielsr/video-demo", filename="eating_spaghetti.mp4")."""
    return make_video(tmp_path_factory.mktemp("doc") / "eating_spaghetti.mp4",
                      "testsrc2=size=320x240:rate=30:duration=3")


@compat('processor(text=..., videos=..., return_tensors="pt", padding=True); model(**inputs)', 'same', "the documentation's zero-shot example, run with only the import changed")
def test_zero_shot_example(file_path):
    from xclip import AutoProcessor, AutoModel

    np.random.seed(0)
    container = av.open(file_path)
    indices = sample_frame_indices(clip_len=8, frame_sample_rate=1, seg_len=container.streams.video[0].frames)
    video = read_video_pyav(container, indices)

    processor = AutoProcessor.from_pretrained(model_dir(MODEL))
    model = AutoModel.from_pretrained(model_dir(MODEL))

    inputs = processor(
        text=["playing sports", "eating spaghetti", "go shopping"],
        videos=list(video),
        return_tensors="pt",
        padding=True,
    )

    with torch.no_grad():
        outputs = model(**inputs)

    logits_per_video = outputs.logits_per_video
    probs = logits_per_video.softmax(dim=1)

    assert isinstance(probs, torch.Tensor) and probs.shape == (1, 3)
    assert torch.allclose(probs.sum(dim=1), torch.ones(1))
    # The same inputs as numpy give the same numbers (torch in and out is zero-copy).
    numpy_inputs = {k: v.numpy() for k, v in inputs.items()}
    np.testing.assert_array_equal(model(**numpy_inputs).logits_per_video, logits_per_video.numpy())


@compat('model.get_text_features(**tokenizer(...))', 'same', "the documentation's example; numbers within 2e-5 of the goldens")
def test_get_text_features_example():
    from xclip import AutoTokenizer, AutoModel

    tokenizer = AutoTokenizer.from_pretrained(model_dir(MODEL))
    model = AutoModel.from_pretrained(model_dir(MODEL))

    inputs = tokenizer(["a photo of a cat", "a photo of a dog"], padding=True, return_tensors="pt")
    text_features = model.get_text_features(**inputs)

    assert tuple(text_features.shape) == (2, model.config.projection_dim)


@compat('model.get_video_features(**processor(videos=...))', 'same', "the documentation's example; numbers within 2e-5 of the goldens")
def test_get_video_features_example(file_path):
    from xclip import AutoProcessor, AutoModel

    np.random.seed(1)
    container = av.open(file_path)
    indices = sample_frame_indices(clip_len=8, frame_sample_rate=1, seg_len=container.streams.video[0].frames)
    video = read_video_pyav(container, indices)

    processor = AutoProcessor.from_pretrained(model_dir(MODEL))
    model = AutoModel.from_pretrained(model_dir(MODEL))

    inputs = processor(videos=list(video), return_tensors="pt")

    video_features = model.get_video_features(**inputs)

    assert tuple(video_features.shape) == (1, model.config.projection_dim)


@compat('XCLIPTextModel.from_pretrained(...)(**inputs)', 'same', 'last_hidden_state and pooler_output of the text tower')
def test_text_model_example():
    from xclip import AutoTokenizer, XCLIPTextModel

    model = XCLIPTextModel.from_pretrained(model_dir(MODEL))
    tokenizer = AutoTokenizer.from_pretrained(model_dir(MODEL))

    inputs = tokenizer(["a photo of a cat", "a photo of a dog"], padding=True, return_tensors="pt")

    outputs = model(**inputs)
    last_hidden_state = outputs.last_hidden_state
    pooled_output = outputs.pooler_output

    assert tuple(last_hidden_state.shape) == (2, inputs["input_ids"].shape[1], 512)
    assert tuple(pooled_output.shape) == (2, 512)


@compat('XCLIPVisionModel.from_pretrained(...)(pixel_values)', 'same', 'the cross-frame vision tower on [videos*frames, 3, H, W]')
def test_vision_model_example(file_path):
    from xclip import AutoProcessor, XCLIPVisionModel

    np.random.seed(2)
    container = av.open(file_path)
    indices = sample_frame_indices(clip_len=8, frame_sample_rate=1, seg_len=container.streams.video[0].frames)
    video = read_video_pyav(container, indices)

    processor = AutoProcessor.from_pretrained(model_dir(MODEL))
    model = XCLIPVisionModel.from_pretrained(model_dir(MODEL))

    pixel_values = processor(videos=list(video), return_tensors="pt").pixel_values

    batch_size, num_frames, num_channels, height, width = pixel_values.shape
    pixel_values = pixel_values.reshape(-1, num_channels, height, width)

    outputs = model(pixel_values)
    last_hidden_state = outputs.last_hidden_state

    assert tuple(last_hidden_state.shape) == (8, 50, 768)


@compat('XCLIPConfig(), XCLIPTextConfig(), XCLIPVisionConfig(), from_text_vision_configs', 'same', "transformers' defaults and field names")
def test_config_examples():
    from xclip import XCLIPConfig, XCLIPModel, XCLIPTextConfig, XCLIPTextModel, XCLIPVisionConfig, XCLIPVisionModel

    # XCLIPConfig: a model from the default configuration (random weights), then the config
    # made of a text and a vision config.
    configuration = XCLIPConfig()
    model = XCLIPModel(configuration)
    configuration = model.config
    config_text = XCLIPTextConfig()
    config_vision = XCLIPVisionConfig()
    config = XCLIPConfig.from_text_vision_configs(config_text, config_vision)
    assert config.to_dict() == configuration.to_dict()

    configuration = XCLIPTextConfig()
    model = XCLIPTextModel(configuration)
    configuration = model.config
    assert configuration.hidden_size == 512

    configuration = XCLIPVisionConfig()
    model = XCLIPVisionModel(configuration)
    configuration = model.config
    assert configuration.num_frames == 8


# --- the same calls on the goldens' inputs -----------------------------------------------
PRESET = "tiny"


def golden(name):
    return golden_tensor("golden_tiny.safetensors", f"{PRESET}/{name}")


def golden_videos():
    return [golden("inputs/frames/tinysrc_60x80"), golden("inputs/frames/tinysrc_97x131")]


def test_zero_shot_example_gives_the_golden_numbers(golden_index):
    from xclip import AutoProcessor, AutoModel

    processor = AutoProcessor.from_pretrained(model_dir(PRESET))
    model = AutoModel.from_pretrained(model_dir(PRESET))
    inputs = processor(text=golden_index["text_lists"]["basic"], videos=golden_videos(), return_tensors="pt",
                       padding=True)
    with torch.no_grad():
        outputs = model(**inputs)
    assert np.abs(outputs.logits_per_video.numpy() - golden("fwd_2v3t/logits_per_video")).max() <= 2e-5
    assert np.abs(outputs.video_embeds.numpy() - golden("fwd_2v3t/video_embeds")).max() <= 2e-5
    assert np.abs(outputs.text_embeds.numpy() - golden("fwd_2v3t/text_embeds")).max() <= 2e-5


def test_features_examples_give_the_golden_numbers(golden_index):
    from xclip import AutoProcessor, AutoTokenizer, AutoModel

    tokenizer = AutoTokenizer.from_pretrained(model_dir(PRESET))
    processor = AutoProcessor.from_pretrained(model_dir(PRESET))
    model = AutoModel.from_pretrained(model_dir(PRESET))
    inputs = tokenizer(golden_index["text_lists"]["basic"], padding=True, return_tensors="pt")
    text_features = model.get_text_features(**inputs)
    assert np.abs(text_features.numpy() - golden("get_text_features/text_features")).max() <= 2e-5
    video_features = model.get_video_features(**processor(videos=golden_videos(), return_tensors="pt"))
    assert np.abs(video_features.numpy() - golden("get_video_features/video_features")).max() <= 2e-5


def test_tower_examples_give_the_golden_numbers(golden_index):
    from xclip import AutoProcessor, AutoTokenizer, XCLIPTextModel, XCLIPVisionModel

    tokenizer = AutoTokenizer.from_pretrained(model_dir(PRESET))
    text_model = XCLIPTextModel.from_pretrained(model_dir(PRESET))
    outputs = text_model(**tokenizer(golden_index["text_lists"]["basic"], padding=True, return_tensors="pt"))
    for name in ("last_hidden_state", "pooler_output"):
        ref = golden(f"fwd_2v3t/text_model_output/{name}")
        assert np.abs(getattr(outputs, name).numpy() - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())

    processor = AutoProcessor.from_pretrained(model_dir(PRESET))
    vision_model = XCLIPVisionModel.from_pretrained(model_dir(PRESET))
    pixel_values = processor(videos=golden_videos(), return_tensors="pt").pixel_values
    batch_size, num_frames, num_channels, height, width = pixel_values.shape
    outputs = vision_model(pixel_values.reshape(-1, num_channels, height, width))
    for name in ("last_hidden_state", "pooler_output"):
        ref = golden(f"fwd_2v3t/vision_model_output/{name}")
        assert np.abs(getattr(outputs, name).numpy() - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())
