"""The transformers idioms people write around the documentation's examples, each run as a
transformers user writes it; the @compat row of each test is a line of python/COMPATIBILITY.md.
Where transformers' behaviour is known without running it (shapes, dtypes, tuple layouts),
the expectation is written here; numbers are compared with xclip's own reference path."""

import json
import multiprocessing
import os
import pickle
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import xclip
from compat import compat
from conftest import model_dir

TINY = "tiny"  # 4 frames of 32x32, projection_dim 32
TINY_PARAMETERS = 1710753  # synth_checkpoint.py's count for the tiny preset (transformers' num_parameters)
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def frames():
    """Two videos of 4 RGB frames, 48x64."""
    return np.random.default_rng(7).integers(0, 256, (2, 4, 48, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def inputs(processor, frames):
    return processor(text=["a dog", "two cats playing"], videos=list(frames), return_tensors="pt", padding=True)


# --- the model as an nn.Module -------------------------------------------------------------

@compat("model.device", "same", "`torch.device('cpu')` (the string 'cpu' without torch), so `inputs.to(model.device)` works")
def test_device_moves_inputs(model, inputs):
    assert model.device == torch.device("cpu")
    moved = inputs.to(model.device)
    assert all(v.device.type == "cpu" for v in moved.values())
    assert torch.equal(model(**moved).logits_per_video, model(**inputs).logits_per_video)


@compat("model.dtype", "same", "`torch.float32` (float32 and int8 weights: their activations are float32) or "
        "`torch.bfloat16`; the weights' own precision is `model.weights_dtype`")
def test_dtype_is_a_torch_dtype(model):
    assert model.dtype is torch.float32
    assert torch.zeros(1).to(model.dtype).dtype == torch.float32
    assert model.weights_dtype == "float32"
    int8 = xclip.XCLIPModel.from_pretrained(model_dir(TINY), dtype="int8")
    assert int8.dtype is torch.float32 and int8.weights_dtype == "int8"


@compat("model.to(...) / .cpu() / .eval()", "same", "the CPU and the model's own dtype keep the model; "
        "CUDA and other dtypes are refused (the precision is chosen at loading)")
def test_to_cpu_and_own_dtype(model):
    assert model.to("cpu") is model and model.to(torch.device("cpu")) is model and model.cpu() is model
    assert model.to(model.dtype) is model and model.eval() is model
    with pytest.raises(xclip.UnsupportedError, match="CPU"):
        model.to("cuda")
    with pytest.raises(xclip.UnsupportedError, match="dtype='bfloat16'"):
        model.to(torch.bfloat16)


@compat("model.half()", "refuses", "float16 is not supported on the CPU engine: the error says to load with "
        "dtype='bfloat16' or 'int8'")
def test_half_is_refused_with_the_alternative(model):
    with pytest.raises(xclip.UnsupportedError, match="dtype='bfloat16'"):
        model.half()


@compat("model.train() / requires_grad_() / parameters()", "refuses", "inference only: the error points to "
        "transformers for training and to num_parameters() / load_safetensors for the weights")
def test_training_surface_is_refused(model):
    assert model.train(False) is model
    with pytest.raises(xclip.UnsupportedError, match="inference only"):
        model.train()
    with pytest.raises(xclip.UnsupportedError, match="inference only"):
        model.requires_grad_()
    with pytest.raises(xclip.UnsupportedError, match="num_parameters"):
        model.parameters()


@compat("loss.backward()", "refuses", "the loss is transformers' 0-d tensor; backward() raises a RuntimeError "
        "that says the engine has no autograd graph")
def test_loss_is_0d_and_backward_explains(model, inputs):
    loss = model(**inputs, return_loss=True).loss
    assert loss.shape == () and loss.dtype == torch.float32 and float(loss) > 0
    with pytest.raises(RuntimeError, match="no autograd graph"):
        loss.backward()
    numpy_loss = model(**{k: v.numpy() for k, v in inputs.items()}, return_loss=True).loss
    assert numpy_loss.shape == () and np.isclose(float(numpy_loss), float(loss))


@compat("model.num_parameters()", "same", "the parameter count of transformers' model")
def test_num_parameters(model):
    assert model.num_parameters() == TINY_PARAMETERS
    text = xclip.XCLIPTextModel.from_pretrained(model_dir(TINY))
    assert 0 < text.num_parameters() < TINY_PARAMETERS


@compat("model.save_pretrained(dir)", "same", "config.json and the weights; from_pretrained(dir) gives the same "
        "numbers (a loaded folder's weight files are copied, a model built from a config writes its weights)")
def test_model_save_pretrained_round_trip(model, processor, inputs, tmp_path):
    model.save_pretrained(tmp_path / "loaded")
    processor.save_pretrained(tmp_path / "loaded")
    again = xclip.XCLIPModel.from_pretrained(tmp_path / "loaded")
    assert torch.equal(again(**inputs).logits_per_video, model(**inputs).logits_per_video)
    assert json.loads((tmp_path / "loaded" / "config.json").read_text())["projection_dim"] == 32

    fresh = xclip.XCLIPModel(xclip.XCLIPConfig.from_pretrained(model_dir(TINY)))
    fresh.save_pretrained(tmp_path / "fresh")
    processor.save_pretrained(tmp_path / "fresh")
    reloaded = xclip.XCLIPModel.from_pretrained(tmp_path / "fresh")
    assert torch.equal(reloaded(**inputs).logits_per_video, fresh(**inputs).logits_per_video)


@compat("pickle.dumps(model)", "differs", "a model pickles by its folder (or config and seed) and options, not "
        "by its weights: Dask and multiprocessing workers load it themselves")
def test_model_pickles_by_recipe(model, inputs):
    data = pickle.dumps(model)
    assert len(data) < 10_000  # the recipe, not 6.9 MB of weights
    again = pickle.loads(data)
    assert torch.equal(again(**inputs).logits_per_video, model(**inputs).logits_per_video)
    fresh = xclip.XCLIPModel(xclip.XCLIPConfig.from_pretrained(model_dir(TINY)))
    assert torch.equal(pickle.loads(pickle.dumps(fresh))(**inputs).logits_per_video, fresh(**inputs).logits_per_video)


@compat("from_pretrained(..., local_files_only=True)", "same", "never touches the network: a folder or the hub "
        "cache, else an error that says the model is not cached")
def test_local_files_only_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # a download attempt would fail differently
    with pytest.raises(OSError, match="(?i)offline|cache"):
        xclip.XCLIPModel.from_pretrained("microsoft/xclip-base-patch32", local_files_only=True)
    assert xclip.XCLIPModel.from_pretrained(model_dir(TINY), local_files_only=True).num_parameters() > 0


# --- outputs -------------------------------------------------------------------------------

@compat("model(..., return_dict=False)", "same", "transformers' tuple: (loss,) logits_per_video, logits_per_text, "
        "text_embeds, video_embeds, then the text and vision towers' outputs as tuples")
def test_return_dict_false_is_transformers_tuple(model, inputs):
    out = model(**inputs)
    plain = model(**inputs, return_dict=False)
    assert len(plain) == 6
    logits_per_video, logits_per_text, text_embeds, video_embeds, text_outputs, vision_outputs = plain
    assert torch.equal(logits_per_video, out.logits_per_video) and torch.equal(video_embeds, out.video_embeds)
    assert isinstance(text_outputs, tuple) and isinstance(vision_outputs, tuple)
    assert torch.equal(text_outputs[1], out.text_model_output.pooler_output)
    with_loss = model(**inputs, return_dict=False, return_loss=True)
    assert len(with_loss) == 7 and with_loss[0].shape == ()


@compat("outputs.to_tuple() / outputs[i]", "same", "the set fields in order, the three nested outputs as tuples "
        "(7 items with mit_output)")
def test_to_tuple_nests_tuples(model, inputs):
    out = model(**inputs)
    items = out.to_tuple()
    assert len(items) == 7 and all(isinstance(items[i], tuple) for i in (4, 5, 6))
    assert torch.equal(out[0], out.logits_per_video) and torch.equal(items[6][1], out.mit_output.pooler_output)


@compat("output_hidden_states / output_attentions (mit_output too)", "same", "every tower's hidden states and "
        "attentions, the MIT's included (its encoder's, before the residual)")
def test_mit_hidden_states_and_attentions(model, inputs):
    out = model(**inputs, output_hidden_states=True, output_attentions=True)
    mit = out.mit_output
    layers = model.config.vision_config.mit_num_hidden_layers
    assert len(mit.hidden_states) == layers + 1 and len(mit.attentions) == layers
    heads = model.config.vision_config.mit_num_attention_heads
    assert mit.attentions[0].shape == (2, heads, 4, 4)
    assert torch.allclose(mit.attentions[0].sum(-1), torch.ones(2, heads, 4))
    # transformers: last_hidden_state = encoder output + the projected frame features (residual)
    assert mit.hidden_states[-1].shape == mit.last_hidden_state.shape
    assert not torch.equal(mit.hidden_states[-1], mit.last_hidden_state)
    assert out.text_model_output.hidden_states is not None and out.vision_model_output.attentions is not None


@compat("model.config.output_hidden_states / return_dict", "same", "forward reads the config when the call "
        "does not say")
def test_config_flags_drive_forward(inputs):
    model = xclip.XCLIPModel.from_pretrained(model_dir(TINY))
    model.config.output_hidden_states = True
    assert model(**inputs).text_model_output.hidden_states is not None
    assert model(**inputs, output_hidden_states=False).text_model_output.hidden_states is None
    model.config.return_dict = False
    assert isinstance(model(**inputs), tuple)
    assert isinstance(model(**inputs, return_dict=True), xclip.XCLIPOutput)


# --- inputs --------------------------------------------------------------------------------

@compat("BatchFeature.to(torch.bfloat16)", "same", "a dtype casts floating tensors only (input_ids stay int64); "
        "a device moves all")
def test_batchfeature_to_dtype_casts_floats_only(inputs):
    cast = inputs.to(torch.bfloat16)
    assert cast.input_ids.dtype == torch.int64 and torch.equal(cast.input_ids, inputs.input_ids)
    assert cast.pixel_values.dtype == torch.bfloat16
    both = inputs.to("cpu", torch.float64)
    assert both.pixel_values.dtype == torch.float64 and both.attention_mask.dtype == torch.int64


@compat("inputs in float16/float64/bfloat16, int32 ids, bool masks", "same", "cast as transformers casts them "
        "(pixels to float32, ids and masks to int64)")
def test_input_dtypes_are_cast(model, inputs):
    reference = model(**inputs).logits_per_video
    for pixels in (inputs.pixel_values.double(), inputs.pixel_values.half(), inputs.pixel_values.bfloat16()):
        got = model(input_ids=inputs.input_ids.int(), attention_mask=inputs.attention_mask.bool(),
                    pixel_values=pixels).logits_per_video
        exact = pixels.dtype == torch.float64
        assert torch.equal(got, reference) if exact else torch.allclose(got, reference, atol=0.05)
    assert torch.equal(model.get_text_features(input_ids=inputs.input_ids.int()),
                       model.get_text_features(input_ids=inputs.input_ids))


@compat("processor(videos=[T, C, H, W] tensor or arrays)", "same", "channels-first frames are recognised as "
        "transformers' infer_channel_dimension_format does (a first axis of 1 or 3)")
def test_channels_first_frames(processor, frames):
    reference = processor(videos=list(frames[0]), return_tensors="np").pixel_values
    tensor = torch.from_numpy(frames[0]).permute(0, 3, 1, 2)
    assert np.array_equal(processor(videos=tensor, return_tensors="np").pixel_values, reference)
    arrays = [f.transpose(2, 0, 1) for f in frames[0]]
    assert np.array_equal(processor(videos=arrays, return_tensors="np").pixel_values, reference)
    batch = torch.from_numpy(frames).permute(0, 1, 4, 2, 3)
    assert processor(videos=batch, return_tensors="np").pixel_values.shape == (2, 4, 3, 32, 32)


@compat("processor(videos=float frames)", "differs", "0-255 floats, or 0-1 floats with do_rescale=False, are "
        "taken as the 8-bit levels they hold (decoded video): identical where no resize happens, else resized on "
        "8-bit levels (at most half a level from transformers' float resize); floats between levels are refused")
def test_float_frames(processor, frames):
    reference = processor(videos=list(frames[0]), return_tensors="np").pixel_values
    as_float = frames[0].astype(np.float32)
    assert np.array_equal(processor(videos=as_float, return_tensors="np").pixel_values, reference)
    unit = processor(videos=as_float / 255.0, do_rescale=False, return_tensors="np").pixel_values
    assert np.array_equal(unit, reference)
    with pytest.raises(xclip.InvalidArgument, match="8-bit levels"):
        processor(videos=as_float / 255.0 + 0.001, do_rescale=False)
    with pytest.raises(xclip.InvalidArgument, match="8-bit levels"):
        processor(videos=as_float / 255.0)  # 0-1 floats with do_rescale left on: not 0-255 levels


@compat("processor(videos=[PIL.Image ('L', 'RGB', 'P', ...)])", "same", "greyscale frames are repeated to RGB; "
        "other modes go through RGB")
def test_pil_frames_of_any_mode(processor, frames):
    grey = frames[0][..., 0]
    reference = processor(videos=np.repeat(grey[..., None], 3, axis=-1), return_tensors="np").pixel_values
    pil = [Image.fromarray(g, mode="L") for g in grey]
    assert np.array_equal(processor(videos=pil, return_tensors="np").pixel_values, reference)
    assert np.array_equal(processor(videos=list(grey), return_tensors="np").pixel_values, reference)
    palette = [Image.fromarray(f).convert("P") for f in frames[0]]
    rgb_of_palette = np.stack([np.asarray(p.convert("RGB")) for p in palette])
    assert np.array_equal(processor(videos=palette, return_tensors="np").pixel_values,
                          processor(videos=rgb_of_palette, return_tensors="np").pixel_values)


def test_ambiguous_frames_name_the_problem(processor):
    with pytest.raises(xclip.InvalidArgument, match="channel axis"):
        processor(videos=np.zeros((4, 20, 30, 7), np.uint8))


# --- processor and tokenizer surface ------------------------------------------------------

@compat("processor.video_processor / image_processor.size, crop_size, image_mean, ...", "same",
        "transformers 5.x's name of the image processor; its settings under transformers' names")
def test_image_processor_settings(processor):
    assert processor.video_processor is processor.image_processor
    ip = processor.image_processor
    saved = json.loads(Path(model_dir(TINY), "preprocessor_config.json").read_text())
    assert ip.size == saved["size"] and ip.crop_size == saved["crop_size"]
    assert ip.image_mean == pytest.approx(saved["image_mean"]) and ip.image_std == pytest.approx(saved["image_std"])
    assert ip.do_resize is True and ip.rescale_factor == pytest.approx(1 / 255)


@compat("tokenizer.encode / tokenize / convert_tokens_to_ids / get_vocab / len()", "same",
        "the vocabulary of the folder (49,408 tokens), special tokens included")
def test_tokenizer_vocabulary(processor):
    tok = processor.tokenizer
    ids = tok.encode("a dog catching a frisbee")
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id
    tokens = tok.tokenize("a dog catching a frisbee")
    assert tok.convert_tokens_to_ids(tokens) == ids[1:-1]
    assert tok.convert_ids_to_tokens(ids[1:-1]) == tokens
    vocab = tok.get_vocab()
    assert len(tok) == len(vocab) == 49408 and vocab["<|endoftext|>"] == 49407
    assert tok.encode("a dog", return_tensors="pt").shape == (1, 4)


@compat("tokenizer.eos_token_id / bos_token / pad_token / unk_token", "same", "from the folder's "
        "special_tokens_map.json and tokenizer_config.json")
def test_special_tokens(processor):
    tok = processor.tokenizer
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == ("<|startoftext|>", "<|endoftext|>", "<|endoftext|>")
    assert (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id) == (49406, 49407, 49407)


@compat("tokenizer(..., pad_to_multiple_of=N, return_attention_mask=False)", "same",
        "pads on the right to a multiple of N with pad_token_id; leaves out attention_mask")
def test_pad_to_multiple_and_no_mask(processor):
    enc = processor.tokenizer(["a dog", "two cats playing"], padding=True, pad_to_multiple_of=8, return_tensors="np")
    assert enc.input_ids.shape == (2, 8) and enc.input_ids[0, -1] == 49407 and enc.attention_mask[0, -1] == 0
    assert "attention_mask" not in processor(text=["a dog"], return_attention_mask=False)


@compat("tokenizer / processor .save_pretrained(dir)", "differs", "copies the folder's tokenizer and "
        "preprocessor files as they are (transformers re-serialises them); from_pretrained(dir) reads them back")
def test_processor_save_pretrained(processor, tmp_path):
    written = processor.save_pretrained(tmp_path)
    assert {Path(p).name for p in written} >= {"vocab.json", "merges.txt", "preprocessor_config.json"}
    again = xclip.XCLIPProcessor.from_pretrained(tmp_path)
    assert again.tokenizer.encode("a dog") == processor.tokenizer.encode("a dog")


# --- configs -------------------------------------------------------------------------------

@compat("XCLIPConfig.from_pretrained(..., return_unused_kwargs=True)", "same", "(config, unused kwargs); "
        "keywords naming a config field override it")
def test_config_unused_kwargs(tmp_path):
    config, unused = xclip.XCLIPConfig.from_pretrained(model_dir(TINY), return_unused_kwargs=True,
                                                       output_hidden_states=True, not_a_field=3)
    assert unused == {"not_a_field": 3} and config.output_hidden_states is True
    assert not hasattr(config, "not_a_field")


@compat("config.to_dict() generic keys (architectures, dtype/torch_dtype, id2label, return_dict, ...)", "same",
        "PretrainedConfig's fields with transformers' defaults, beside the model's")
def test_config_generic_keys():
    config = xclip.XCLIPConfig.from_pretrained(model_dir(TINY))
    d = config.to_dict()
    for key in ("architectures", "dtype", "id2label", "label2id", "return_dict", "output_hidden_states",
                "tie_word_embeddings", "is_encoder_decoder"):
        assert key in d, key
    assert d["id2label"] == {0: "LABEL_0", 1: "LABEL_1"} and config.use_return_dict is True
    assert "id2label" in d["text_config"] and d["text_config"]["pad_token_id"] == 1
    assert json.loads(config.to_json_string())["id2label"] == {"0": "LABEL_0", "1": "LABEL_1"}


def test_frame_count_error_names_the_python_keyword(model):
    with pytest.raises(xclip.InvalidArgument, match="interpolate_frames=True"):
        model.get_video_features(pixel_values=np.zeros((1, 3, 3, 32, 32), np.float32))


# --- processes -----------------------------------------------------------------------------

_IDS = np.array([[49406, 320, 1929, 49407]])


def _features_in_child(model):
    return model.get_text_features(input_ids=_IDS)


def _own_model_in_child(folder):
    return xclip.XCLIPModel.from_pretrained(folder).get_text_features(input_ids=_IDS)


@compat("multiprocessing fork (Pool, gunicorn --preload, Celery prefork)", "differs", "works: a model loaded "
        "(and run) before fork runs in the child; each call there runs on a fresh thread, because libgomp's "
        "team of the forking thread does not survive fork")
def test_fork_pool_after_the_parent_ran_the_model(model):
    reference = model.get_text_features(input_ids=_IDS)  # the parent's OpenMP team exists now
    pool = multiprocessing.get_context("fork").Pool(2)
    try:
        inherited = pool.map_async(_features_in_child, [model] * 4).get(timeout=120)
        own = pool.map_async(_own_model_in_child, [model_dir(TINY)] * 2).get(timeout=120)
    finally:
        pool.terminate()
    for got in inherited + own:
        assert np.array_equal(got, reference)


def test_fork_preloading_wsgi_parent(model):
    """A gunicorn --preload-like parent: the model is loaded and run, then a forked worker
    serves a WSGI app on a loopback port."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    def app(environ, start_response):
        features = model.get_text_features(input_ids=_IDS)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(features.tolist()).encode()]

    reference = model.get_text_features(input_ids=_IDS)
    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    port = server.server_address[1]
    pid = os.fork()
    if pid == 0:  # the worker: two requests, then leave without running the parent's cleanup
        try:
            server.timeout = 60
            server.handle_request()
            server.handle_request()
        finally:
            os._exit(0)
    server.server_close()
    try:
        for _ in range(2):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60) as response:
                got = np.array(json.loads(response.read()), dtype=np.float32)
            assert np.allclose(got, reference, atol=1e-6)
    finally:
        os.waitpid(pid, 0)


@compat("OMP_NUM_THREADS", "same", "sets the thread count; XCLIP_NUM_THREADS takes precedence over it")
def test_omp_num_threads_is_respected():
    code = f"import xclip; print(xclip.XCLIPModel.from_pretrained({model_dir(TINY)!r})._model.num_threads)"

    def threads(**env):
        clean = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "XCLIP_NUM_THREADS")}
        done = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True,
                              timeout=120, check=True)
        return int(done.stdout.strip())

    assert threads(OMP_NUM_THREADS="1") == 1
    assert threads(OMP_NUM_THREADS="3") == 3
    assert threads(OMP_NUM_THREADS="1", XCLIP_NUM_THREADS="2") == 2


def test_compat_table_is_current():
    done = subprocess.run([sys.executable, str(HERE / "make_compat_table.py"), "--check"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout


@compat("model(..., position_ids=...)", "refuses", "custom position ids are not supported; the default positions "
        "(what every X-CLIP checkpoint uses) are")
def test_position_ids_are_refused(model, inputs):
    with pytest.raises(xclip.UnsupportedError, match="position_ids"):
        model(**inputs, position_ids=torch.arange(inputs.input_ids.shape[1])[None])


@compat("model(..., interpolate_pos_encoding=True)", "same", "pixel sizes other than image_size, with the "
        "position embeddings resized bicubically as transformers does")
def test_interpolate_pos_encoding(model, processor, frames):
    pixels = processor(videos=list(frames[0]), size={"shortest_edge": 64}, crop_size={"height": 64, "width": 64},
                       return_tensors="pt").pixel_values
    with pytest.raises(xclip.InvalidArgument):
        model.get_video_features(pixel_values=pixels)
    assert model.get_video_features(pixel_values=pixels, interpolate_pos_encoding=True).shape == (1, 32)
