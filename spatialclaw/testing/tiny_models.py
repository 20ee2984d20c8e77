"""Tiny randomly initialised checkpoints of the learned backend's models, built offline in seconds.

Each builder makes a model from a small config (random weights, redrawn so outputs vary across
the image) and saves it with ``save_pretrained`` beside what its adapter loads (processor or
tokenizer settings), so the adapters' real loading path (``from_pretrained(folder)``) runs on
them. They test plumbing — shapes, coordinates, identities, loading once — never accuracy.

``python -m spatialclaw.testing.tiny_models --hf-cache DIR`` writes the default model of every
task under its Hub id in the Hugging Face cache layout (``models--org--name/snapshots/<rev>/`` and
``refs/main``), so ``HF_HUB_CACHE=DIR spatialclaw exec VIDEO --perception learned`` runs the whole
learned path offline. Needs torch and transformers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

IMAGENET = {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}
WORDS = ("chair", "table", "sofa", "red", "cup", "bed", "lamp")
"""Whole words the tiny tokenizers know (others are spelled letter by letter)."""


def randomise(model: Any, std: float, seed: int = 0) -> None:
    """Redraw every weight from N(0, std²) so random outputs vary (default inits are often flat)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)


def clip_tokenizer(max_length: int = 32) -> Any:
    """A CLIP tokenizer over letters and `WORDS` (id 0 is not the start token, as in CLIP)."""
    from transformers import CLIPTokenizer

    vocab = {"!": 0, "<|startoftext|>": 1, "<|endoftext|>": 2}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        vocab[letter] = len(vocab)
        vocab[letter + "</w>"] = len(vocab)
    for word in WORDS:
        vocab[word + "</w>"] = len(vocab)
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def _save(folder: Path, model: Any, *extras: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    for extra in extras:
        extra.save_pretrained(folder)
    return folder


def depth_anything_metric(folder: Path, max_depth: int = 20) -> Path:
    """Depth Anything V2 metric (indoor): a 4-layer DINOv2 backbone of width 32, depth in [0, 20] m."""
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    backbone = Dinov2Config(
        image_size=518, patch_size=14, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
        intermediate_size=64, out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False,
    )
    config = DepthAnythingConfig(
        backbone_config=backbone, reassemble_hidden_size=32, neck_hidden_sizes=[8, 16, 32, 32],
        fusion_hidden_size=16, head_hidden_size=8, depth_estimation_type="metric", max_depth=max_depth,
    )
    model = DepthAnythingForDepthEstimation(config)
    randomise(model, std=0.05)
    # the checkpoint's settings, except the input size: the adapter enforces 518 / multiples of 14
    processor = DPTImageProcessor(size={"height": 384, "width": 384}, keep_aspect_ratio=False, resample=3, **IMAGENET)
    return _save(folder, model, processor)


def dpt(folder: Path) -> Path:
    """DPT (relative inverse depth) on a 64-pixel ViT."""
    from transformers import DPTConfig, DPTForDepthEstimation, DPTImageProcessor

    config = DPTConfig(
        hidden_size=16, num_hidden_layers=4, num_attention_heads=2, intermediate_size=32, image_size=64,
        patch_size=16, backbone_out_indices=[0, 1, 2, 3], neck_hidden_sizes=[8, 8, 16, 16],
        fusion_hidden_size=8, head_hidden_size=8,
    )
    processor = DPTImageProcessor(size={"height": 64, "width": 64}, keep_aspect_ratio=False, **IMAGENET)
    return _save(folder, DPTForDepthEstimation(config), processor)


DEPTH_PRO_PATCH = 64


def depth_pro(folder: Path, fov_degrees: float = 60.0) -> Path:
    """Depth Pro with its field-of-view head on 2-layer DINOv2 encoders (input 256 pixels).

    The fov head's output bias is set so the predicted field of view is about ``fov_degrees``.
    """
    import torch
    from transformers import DepthProConfig, DepthProForDepthEstimation

    vit = dict(model_type="dinov2", image_size=DEPTH_PRO_PATCH, patch_size=16, hidden_size=32, num_hidden_layers=2,
               num_attention_heads=2, intermediate_size=64)
    config = DepthProConfig(
        fusion_hidden_size=32, patch_size=DEPTH_PRO_PATCH, intermediate_hook_ids=[1, 0], intermediate_feature_dims=[16, 16],
        scaled_images_ratios=[0.25, 0.5, 1], scaled_images_overlap_ratios=[0.0, 0.5, 0.25],
        scaled_images_feature_dims=[32, 32, 16], use_fov_model=True, num_fov_head_layers=1,
        image_model_config=vit, patch_model_config=vit, fov_model_config=vit,
    )
    model = DepthProForDepthEstimation(config)
    randomise(model, std=0.05)
    with torch.no_grad():
        model.fov_model.head.layers[-1].bias.fill_(fov_degrees)
        model.head.layers[-2].bias.fill_(0.3)  # canonical inverse depth ~0.3: depths of a few metres
    _save(folder, model)
    settings = {"image_processor_type": "DepthProImageProcessor", "image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    (folder / "preprocessor_config.json").write_text(json.dumps(settings, indent=2))
    return folder


GD_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "a", "red", "chair", "table", "cup"]


def grounding_dino(folder: Path) -> Path:
    """Grounding DINO with a one-layer BERT over `GD_WORDS` and a tiny Swin backbone."""
    from transformers import (
        BertConfig, BertTokenizer, GroundingDinoConfig, GroundingDinoForObjectDetection,
        GroundingDinoImageProcessor, GroundingDinoProcessor, SwinConfig,
    )

    tokenizer = BertTokenizer(vocab={word: i for i, word in enumerate(GD_WORDS)})
    backbone = SwinConfig(
        image_size=224, patch_size=4, embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
        window_size=7, out_indices=[2, 3, 4],
    )
    text = BertConfig(
        vocab_size=len(GD_WORDS), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=64,
    )
    config = GroundingDinoConfig(
        backbone_config=backbone, text_config=text, d_model=32, encoder_layers=1, decoder_layers=2,
        encoder_ffn_dim=32, decoder_ffn_dim=32, encoder_attention_heads=2, decoder_attention_heads=2,
        num_queries=12, num_feature_levels=4, max_text_len=32, encoder_n_points=2, decoder_n_points=2,
    )
    image_processor = GroundingDinoImageProcessor(size={"shortest_edge": 96, "longest_edge": 160})
    processor = GroundingDinoProcessor(image_processor=image_processor, tokenizer=tokenizer)
    return _save(folder, GroundingDinoForObjectDetection(config), processor)


def owlv2(folder: Path) -> Path:
    """OWLv2 with a one-layer text and vision tower at 64 pixels."""
    from transformers import (
        Owlv2Config, Owlv2ForObjectDetection, Owlv2ImageProcessor, Owlv2Processor, Owlv2TextConfig,
        Owlv2VisionConfig,
    )

    tokenizer = clip_tokenizer(max_length=16)
    text = Owlv2TextConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        max_position_embeddings=16, bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )
    vision = Owlv2VisionConfig(
        hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=64, patch_size=16
    )
    config = Owlv2Config(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=16)
    processor = Owlv2Processor(image_processor=Owlv2ImageProcessor(size={"height": 64, "width": 64}), tokenizer=tokenizer)
    return _save(folder, Owlv2ForObjectDetection(config), processor)


def sam(folder: Path) -> Path:
    """SAM with a 2-layer ViT at 64 pixels and its processor."""
    from transformers import (
        SamConfig, SamImageProcessor, SamMaskDecoderConfig, SamModel, SamProcessor, SamPromptEncoderConfig,
        SamVisionConfig,
    )

    vision = SamVisionConfig(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, image_size=64, patch_size=8,
        output_channels=16, mlp_dim=32, global_attn_indexes=[1], window_size=4, num_pos_feats=8,
    )
    prompt = SamPromptEncoderConfig(hidden_size=16, image_size=64, patch_size=8, mask_input_channels=4)
    decoder = SamMaskDecoderConfig(hidden_size=16, mlp_dim=32, num_hidden_layers=2, num_attention_heads=2,
                                   iou_head_hidden_dim=16)
    config = SamConfig(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)
    image_processor = SamImageProcessor(
        size={"longest_edge": 64}, pad_size={"height": 64, "width": 64},
        mask_size={"longest_edge": 16}, mask_pad_size={"height": 16, "width": 16},
    )
    return _save(folder, SamModel(config), SamProcessor(image_processor=image_processor))


SAM2_SIDE = 128


def sam2(folder: Path) -> Path:
    """SAM 2.1 with a 5-block Hiera backbone at 128 pixels (no processor: it needs torchvision)."""
    from transformers import (
        Sam2Config, Sam2HieraDetConfig, Sam2MaskDecoderConfig, Sam2Model, Sam2PromptEncoderConfig,
        Sam2VisionConfig,
    )

    s = SAM2_SIDE
    backbone = Sam2HieraDetConfig(
        hidden_size=8, num_attention_heads=1, image_size=[s, s], blocks_per_stage=[1, 1, 2, 1],
        embed_dim_per_stage=[8, 16, 32, 64], num_attention_heads_per_stage=[1, 1, 1, 1],
        window_size_per_stage=[4, 4, 4, 4], global_attention_blocks=[3],
        window_positional_embedding_background_size=[2, 2],
    )
    vision = Sam2VisionConfig(
        backbone_config=backbone, backbone_channel_list=[64, 32, 16, 8],
        backbone_feature_sizes=[[s // 4, s // 4], [s // 8, s // 8], [s // 16, s // 16]], fpn_hidden_size=16,
    )
    prompt = Sam2PromptEncoderConfig(hidden_size=16, image_size=s, patch_size=16, mask_input_channels=4)
    decoder = Sam2MaskDecoderConfig(hidden_size=16, mlp_dim=32, num_hidden_layers=2, num_attention_heads=2,
                                    iou_head_hidden_dim=16)
    config = Sam2Config(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)
    return _save(folder, Sam2Model(config))


SAM3_SIDE = 112
SAM3_PATCH = 14


def sam3_config(side: int = SAM3_SIDE, queries: int = 4) -> Any:
    """A ``sam3_video`` config (detector + tracker) at ``side`` pixels, as ``facebook/sam3`` is laid out.

    The tracker's sizes keep SAM 3's ratios (memory channels 64, model width above them): the
    video model assumes them. Hot start is off, the detection thresholds are low (random weights
    still start tracks) and at most ``queries`` objects are tracked (random detections are never
    associated with earlier tracks, so each frame would start new ones).
    """
    from transformers import Sam3VideoConfig

    grid = side // SAM3_PATCH
    vit = dict(model_type="sam3_vit_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
               num_attention_heads=2, image_size=side, patch_size=SAM3_PATCH, window_size=4, global_attn_indexes=[1],
               pretrain_image_size=56)
    vision = dict(backbone_config=vit, fpn_hidden_size=128,
                  backbone_feature_sizes=[[grid * 4] * 2, [grid * 2] * 2, [grid] * 2])
    text = dict(model_type="clip_text_model", vocab_size=len(clip_tokenizer()), hidden_size=32, intermediate_size=64,
                projection_dim=32, num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=32,
                bos_token_id=1, eos_token_id=2, pad_token_id=2)
    width = dict(hidden_size=128, num_attention_heads=2, intermediate_size=128)
    detector = dict(model_type="sam3", vision_config=vision, text_config=text,
                    geometry_encoder_config=dict(width, num_layers=1), detr_encoder_config=dict(width, num_layers=1),
                    detr_decoder_config=dict(width, num_layers=1, num_queries=queries),
                    mask_decoder_config=dict(hidden_size=128, num_attention_heads=2))
    tracker = dict(model_type="sam3_tracker_video", vision_config=dict(vision, model_type="sam3_vision_model"),
                   prompt_encoder_config=dict(hidden_size=128, image_size=side, patch_size=SAM3_PATCH,
                                              mask_input_channels=4),
                   mask_decoder_config=dict(hidden_size=128, mlp_dim=128, num_hidden_layers=1, num_attention_heads=2,
                                            iou_head_hidden_dim=32),
                   memory_attention_hidden_size=128, memory_attention_num_layers=1,
                   memory_attention_feed_forward_hidden_size=128, memory_attention_rope_feat_sizes=[grid, grid],
                   memory_encoder_hidden_size=128, memory_encoder_output_channels=64, mask_downsampler_embed_dim=128,
                   memory_fuser_embed_dim=128, memory_fuser_intermediate_dim=128, num_maskmem=3, image_size=side)
    return Sam3VideoConfig(detector_config=detector, tracker_config=tracker, low_res_mask_size=grid * 4,
                           hotstart_delay=0, score_threshold_detection=0.3, new_det_thresh=0.3, max_num_objects=queries)


def _centre_pixel_embeddings(detector: Any) -> None:
    """Spread SAM 3's instance embeddings (weights N(0, 1)) and centre them on a grey frame's."""
    import numpy as np
    import torch

    from spatialclaw.primitives.backends.learned.sam3 import square_pixels, tokenize

    projection = detector.mask_decoder.instance_projection
    projection.weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(1))
    seen: dict[str, Any] = {}
    hook = projection.register_forward_hook(lambda module, args, output: seen.setdefault("embeds", output))
    grey = square_pixels([np.full((SAM3_SIDE, SAM3_SIDE, 3), 128, np.uint8)], SAM3_SIDE,
                         {"image_mean": [0.5] * 3, "image_std": [0.5] * 3})
    ids, attention = tokenize(clip_tokenizer(), ["object"])
    detector(pixel_values=grey, input_ids=ids, attention_mask=attention)
    hook.remove()
    projection.bias -= seen["embeds"].mean(dim=(0, 2, 3))


def sam3(folder: Path) -> Path:
    """SAM 3 (``sam3_video``: text-prompted detector + video tracker), its tokenizer and image settings.

    Weights are redrawn; the presence head is biased towards "present" and the query-text scoring
    towards a match, so instances of any prompt score about 0.66 (random SAM 3 weights otherwise
    score every query ~0.25, below any threshold); the mask head's pixel embeddings are centred on
    a grey frame, so masks cover part of a frame, not all or nothing.
    """
    import torch
    from transformers import Sam3VideoModel

    model = Sam3VideoModel(sam3_config())
    randomise(model, std=0.08)
    detector = model.detector_model
    with torch.no_grad():
        detector.detr_decoder.presence_head.layer3.bias.fill_(4.0)
        for projection in (detector.dot_product_scoring.text_proj, detector.dot_product_scoring.query_proj):
            projection.bias.fill_(0.25)
        _centre_pixel_embeddings(detector)
        model.tracker_model.mask_decoder.pred_obj_score_head.proj_out.bias.fill_(4.0)  # tracked objects stay visible
    _save(folder, model, clip_tokenizer())
    settings = {"image_processor_type": "Sam3ImageProcessor", "image_mean": [0.5] * 3, "image_std": [0.5] * 3,
                "size": {"height": SAM3_SIDE, "width": SAM3_SIDE}}
    (folder / "preprocessor_config.json").write_text(json.dumps(settings, indent=2))
    return folder


def lightglue(folder: Path) -> Path:
    """LightGlue (2 layers, width 32) over a SuperPoint of widths 8–16 with 32-d descriptors.

    Every match LightGlue proposes is kept (``filter_threshold`` 0): with random weights the
    matches are wrong, but there are matches for the database and the verification to handle.
    At most 128 keypoints per frame (the checkpoint's ``max_keypoints``): the offline SfM stays fast.
    """
    from transformers import LightGlueConfig, LightGlueForKeypointMatching, SuperPointConfig

    detector = SuperPointConfig(
        encoder_hidden_sizes=[8, 8, 16, 16], decoder_hidden_size=32, descriptor_decoder_dim=32, max_keypoints=128,
    )
    config = LightGlueConfig(
        keypoint_detector_config=detector, descriptor_dim=32, num_hidden_layers=2, num_attention_heads=2, filter_threshold=0.0,
    )
    model = LightGlueForKeypointMatching(config)
    randomise(model, std=0.1)
    return _save(folder, model)


def da3(folder: Path) -> Path:
    """Depth Anything 3's smallest preset (``da3-small``, 34 M parameters: the package builds its
    networks from fixed presets only), randomly initialised, saved by the package's own
    ``save_pretrained`` (``config.json`` naming the preset, ``model.safetensors``). Needs the
    depth-anything-3 package (see `DA3_CHECKPOINT`)."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # its logger prints to stdout
        from depth_anything_3.api import DepthAnything3

        model = DepthAnything3(model_name="da3-small")
    model.save_pretrained(folder)
    return folder


Builder = Callable[[Path], Path]

DEFAULT_CHECKPOINTS: dict[str, Builder] = {
    "facebook/sam3": sam3,
    "depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf": depth_anything_metric,
    "IDEA-Research/grounding-dino-tiny": grounding_dino,
    "facebook/sam2.1-hiera-tiny": sam2,
    "ETH-CVG/lightglue_superpoint": lightglue,
}
"""Hub id → builder of every model the learned backend uses by default (first choice per task)."""

DA3_CHECKPOINT: dict[str, Builder] = {"depth-anything/DA3-BASE": da3}
"""Depth Anything 3 (its first choice, built as the small preset): written too where the
depth-anything-3 package is installed (an optional extra), since only then can it load."""


def default_checkpoints() -> dict[str, Builder]:
    """`DEFAULT_CHECKPOINTS`, with `DA3_CHECKPOINT` where depth-anything-3 is installed."""
    import importlib.util

    extra = DA3_CHECKPOINT if importlib.util.find_spec("depth_anything_3") is not None else {}
    return {**DEFAULT_CHECKPOINTS, **extra}


def write_hf_cache(root: Path, checkpoints: dict[str, Builder] | None = None) -> dict[str, Path]:
    """Write tiny checkpoints under their Hub ids in a Hugging Face cache at ``root``.

    Layout as huggingface_hub writes it: ``models--org--name/snapshots/<revision>/`` holding the
    files and ``models--org--name/refs/main`` naming the revision (a hash of the id: the same
    id always lands in the same snapshot).

    Returns:
        Hub id → snapshot folder.
    """
    import torch

    written = {}
    for repo_id, build in (checkpoints or default_checkpoints()).items():
        repo = root / ("models--" + repo_id.replace("/", "--"))
        revision = hashlib.sha1(f"spatialclaw-tiny:{repo_id}".encode()).hexdigest()
        torch.manual_seed(0)
        written[repo_id] = build(repo / "snapshots" / revision)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / "main").write_text(revision)
        for path in repo.rglob("*"):  # readable by every user, as a downloaded cache is (a sandboxed kernel runs as another uid)
            path.chmod(0o755 if path.is_dir() else 0o644)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m spatialclaw.testing.tiny_models --hf-cache DIR``: write the tiny default models."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hf-cache", type=Path, required=True, help="the Hugging Face hub cache folder to write")
    args = parser.parse_args(argv)
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()
    for repo_id, folder in write_hf_cache(args.hf_cache).items():
        print(f"{repo_id}: {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
