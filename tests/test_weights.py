"""The shipped Caffe weights: hash, shapes, de-quantisation, formats, and clear refusals."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest
import torch

from gramscope.errors import WeightsError
from gramscope.weights import (
    CAFFE_PREPROCESSING,
    CAFFE_SHA256,
    CONV_LAYERS,
    TORCHVISION_CONV_INDICES,
    TORCHVISION_PREPROCESSING,
    default_weights_path,
    download_torchvision_weights,
    load_weights,
    sha256_of,
)


@pytest.fixture(scope="module")
def caffe():
    return load_weights()


def test_default_file_is_the_published_one(caffe):
    assert sha256_of(default_weights_path()) == CAFFE_SHA256
    assert caffe.sha256 == CAFFE_SHA256
    assert caffe.source == "caffe"
    assert caffe.preprocessing == CAFFE_PREPROCESSING


def test_layer_shapes_are_vgg19(caffe):
    shapes = [tuple(caffe.convs[name][0].shape) for name in CONV_LAYERS]
    assert shapes[0] == (64, 3, 3, 3)
    assert shapes[1] == (64, 64, 3, 3)
    assert shapes[4] == (256, 128, 3, 3)
    assert shapes[8] == (512, 256, 3, 3)
    assert shapes[-1] == (512, 512, 3, 3)
    assert sum(w.numel() + b.numel() for w, b in caffe.convs.values()) == 20_024_384


def test_dequantisation_uses_the_table(caffe):
    state = torch.load(default_weights_path(), weights_only=True)
    indices, table = state["block3_conv2_W_q"], state["block3_conv2_W_table"]
    weight = caffe.convs["conv3_2"][0]
    assert weight[5, 7, 1, 2].item() == table[indices[5, 7, 1, 2].long()].item()
    assert len(torch.unique(weight)) <= 256


def test_caffe_preprocessing_is_bgr_minus_mean_pixel():
    rgb = torch.tensor([10.0, 20.0, 30.0]).view(1, 3, 1, 1)
    out = CAFFE_PREPROCESSING.to_network(rgb).flatten().tolist()
    assert out == pytest.approx([30 - 103.939, 20 - 116.779, 10 - 123.68])


def test_torchvision_preprocessing_is_rgb_unit_range_standardised():
    rgb = torch.full((1, 3, 1, 1), 255.0)
    out = TORCHVISION_PREPROCESSING.to_network(rgb).flatten().tolist()
    assert out == pytest.approx([(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225])


def torchvision_state(caffe) -> dict[str, torch.Tensor]:
    state = {}
    for name, index in zip(CONV_LAYERS, TORCHVISION_CONV_INDICES, strict=True):
        state[f"features.{index}.weight"], state[f"features.{index}.bias"] = caffe.convs[name]
    state["classifier.0.weight"] = torch.zeros(2, 2)  # present in the real file; ignored
    return state


def test_torchvision_state_dict_is_recognised_with_its_own_preprocessing(tmp_path, caffe):
    path = tmp_path / "my-vgg19.pth"
    torch.save(torchvision_state(caffe), path)
    loaded = load_weights(path)
    assert loaded.source == "torchvision"
    assert loaded.preprocessing == TORCHVISION_PREPROCESSING
    assert torch.equal(loaded.convs["conv5_1"][0], caffe.convs["conv5_1"][0])


def test_torchvision_name_with_wrong_hash_prefix_is_refused(tmp_path, caffe):
    path = tmp_path / "vgg19-dcbb9e9d.pth"
    torch.save(torchvision_state(caffe), path)
    with pytest.raises(WeightsError, match="does not start with dcbb9e9d"):
        load_weights(path)


def test_altered_caffe_file_is_refused_by_hash(tmp_path):
    state = torch.load(default_weights_path(), weights_only=True)
    state["block1_conv1_b"] = state["block1_conv1_b"] + 1
    path = tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
    torch.save(state, path)
    with pytest.raises(WeightsError, match="does not match the published"):
        load_weights(path)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "not a readable PyTorch weights file"),
        (b"not a weights file at all" * 10, "not a readable PyTorch weights file"),
        (pickle.dumps(Payload()), "not a readable PyTorch weights file"),
    ],
)
def test_corrupt_or_foreign_files_get_one_line_errors(tmp_path, content, message):
    path = tmp_path / "weights.pth"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=message) as info:
        load_weights(path)
    assert "\n" not in str(info.value)


def test_unknown_tensor_dict_and_wrong_shapes_are_refused(tmp_path, caffe):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(WeightsError, match="unknown weights format"):
        load_weights(path)
    state = torchvision_state(caffe)
    state["features.0.weight"] = torch.zeros(64, 1, 3, 3)
    torch.save(state, path)
    with pytest.raises(WeightsError, match="not a VGG-19"):
        load_weights(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(WeightsError, match="not found"):
        load_weights(tmp_path / "nope.pth")
    with pytest.raises(WeightsError, match="directory"):
        load_weights(tmp_path)


def test_download_is_verified_and_tested_against_a_local_file(tmp_path, caffe):
    source = tmp_path / "mirror" / "vgg19-00000000.pth"
    source.parent.mkdir()
    buffer = io.BytesIO()
    torch.save(torchvision_state(caffe), buffer)
    source.write_bytes(buffer.getvalue())
    real_prefix = sha256_of(source)[:8]
    good = source.with_name(f"vgg19-{real_prefix}.pth")
    source.rename(good)
    saved = download_torchvision_weights(tmp_path / "cache", url=good.as_uri())
    assert saved == tmp_path / "cache" / good.name
    assert load_weights(saved).source == "torchvision"
    # A file whose content does not match the hash in its name is not kept.
    bad = good.with_name("vgg19-ffffffff.pth")
    bad.write_bytes(good.read_bytes())
    with pytest.raises(WeightsError, match="does not match"):
        download_torchvision_weights(tmp_path / "cache2", url=bad.as_uri())
    assert not any(Path(tmp_path / "cache2").iterdir())
