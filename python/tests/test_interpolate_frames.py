"""Any frame count (interpolate_frames): a model synthesised for 8 frames runs on 4, 12 and 16
frames and gives the video embeddings of the same model whose MIT position embeddings were
resized by numpy (torch's linear interpolation, align_corners=False) and whose config says
that frame count; at its own count the option changes nothing."""

import json
import shutil

import numpy as np
import pytest

import xclip
from conftest import golden_tensor, model_dir
from compat import compat

PRESET = "tiny-8f"


def numpy_linear_interpolation(position, frames):
    """torch.nn.functional.interpolate(x[None].transpose(1, 2), size=frames, mode="linear")."""
    count = position.shape[0]
    source = np.maximum((np.arange(frames, dtype=np.float64) + 0.5) * count / frames - 0.5, 0.0)
    i0 = np.minimum(np.floor(source).astype(np.int64), count - 1)
    i1 = np.minimum(i0 + 1, count - 1)
    weight = (source - i0)[:, None]
    return ((1.0 - weight) * position[i0] + weight * position[i1]).astype(np.float32)


def folder_for(frames, tmp_path):
    """A copy of the model with num_frames = frames and numpy-resized MIT position embeddings."""
    source = model_dir(PRESET)
    folder = tmp_path / f"{PRESET}-{frames}f"
    shutil.copytree(source, folder)
    config = json.loads((folder / "config.json").read_text())
    config["vision_config"]["num_frames"] = frames
    (folder / "config.json").write_text(json.dumps(config))
    tensors, metadata = xclip.load_safetensors(str(folder / "model.safetensors"))
    tensors = {k: np.array(v) for k, v in tensors.items()}
    tensors["mit.position_embedding"] = numpy_linear_interpolation(tensors["mit.position_embedding"][0], frames)[None]
    xclip.save_safetensors(str(folder / "model.safetensors"), tensors, metadata)
    return str(folder)


def video_of(frames):
    pool = golden_tensor("golden_tiny.safetensors", f"{PRESET}/inputs/pixel_values_2v")  # [2, 8, 3, h, w]
    flat = pool.reshape(-1, *pool.shape[2:])
    return np.stack([flat[(np.arange(frames) * 3 + v) % flat.shape[0]] for v in range(2)])


@pytest.mark.parametrize("frames", [4, 12, 16])
@compat('from_pretrained(..., interpolate_frames=True)', 'differs', "an xclip extension: other frame counts than num_frames (the MIT's position embeddings resized along time)")
def test_other_frame_counts_match_the_resized_model(frames, tmp_path):
    interpolating = xclip.XCLIPModel.from_pretrained(model_dir(PRESET), interpolate_frames=True)
    reference = xclip.XCLIPModel.from_pretrained(folder_for(frames, tmp_path))
    pixels = video_of(frames)
    ours = interpolating.get_video_features(pixel_values=pixels)
    expected = reference.get_video_features(pixel_values=pixels)
    assert np.abs(ours - expected).max() <= 2e-5
    ids = np.array([[49406, 320, 1929, 49407]])
    np.testing.assert_allclose(interpolating(input_ids=ids, pixel_values=pixels).logits_per_video,
                               reference(input_ids=ids, pixel_values=pixels).logits_per_video, atol=2e-5)


def test_own_frame_count_is_unchanged_and_others_need_the_option():
    plain = xclip.XCLIPModel.from_pretrained(model_dir(PRESET))
    interpolating = xclip.XCLIPModel.from_pretrained(model_dir(PRESET), interpolate_frames=True)
    pixels = video_of(8)
    np.testing.assert_array_equal(plain.get_video_features(pixel_values=pixels),
                                  interpolating.get_video_features(pixel_values=pixels))
    with pytest.raises(xclip.InvalidArgument, match="interpolate_frames"):
        plain.get_video_features(pixel_values=video_of(4))


def test_workflow_takes_the_option(videos):
    with pytest.raises(xclip.InvalidArgument, match="interpolate_frames"):
        xclip.Workflow(model_dir(PRESET), frames=4)
    workflow = xclip.Workflow(model_dir(PRESET), frames=4, interpolate_frames=True)
    [result] = workflow.classify([videos["testsrc"]], ["a", "b"])
    assert result.ok and len(result.frame_indices[0]) == 4
    assert abs(float(np.sum(result.probabilities)) - 1.0) < 1e-6
