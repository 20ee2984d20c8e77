"""A tiny, randomly initialised Idefics3 (SmolVLM family) checkpoint, built offline in seconds.

Nothing is downloaded: the tokenizer is a byte-level BPE trained on the spot, the model comes
from a small config, and both are saved with ``save_pretrained`` so the real loading path
(``AutoProcessor`` + ``AutoModelForImageTextToText.from_pretrained(folder)``) is exercised. Its
replies are nonsense text; it tests plumbing (chat template with images, generation, decoding,
token counts), never answers. Needs torch and transformers.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_SIZE = 32  # vision tower input, pixels
PATCH_SIZE = 8
SCALE_FACTOR = 2
MAX_NEW_TOKENS = 16  # its replies are nonsense: a short cap keeps a whole agent run on a CPU in seconds
IMAGE_SEQ_LEN = (IMAGE_SIZE // PATCH_SIZE) ** 2 // SCALE_FACTOR**2

CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] | capitalize }}:"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>"
    "{% else %} {{ part['text'] }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)

_CORPUS = [
    "How far is the sofa from the television in metres?",
    "```python\nrecon = reconstruct()\nprint(distance(a, b))\nanswer(2.5)\n```",
    "User: Assistant: System: the chair is left of the table, answer B.",
    "0 1 2 3 4 5 6 7 8 9 ( ) [ ] { } , . : ; = + - * / _ \" ' # < > frames show",
]


def _tokenizer():  # noqa: ANN202
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    special = ["<|endoftext|>", "<image>", "<fake_token_around_image>", "<global-img>", "<end_of_utterance>"]
    special += [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=special, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|endoftext|>",
        eos_token="<end_of_utterance>",
        pad_token="<|endoftext|>",
        additional_special_tokens=special[1:],
    )


def build_tiny_idefics3(folder: str | Path, *, seed: int = 0) -> Path:
    """Write a tiny random Idefics3 checkpoint (processor + model, ~1 MB) to ``folder``; return it."""
    import torch
    from transformers import Idefics3Config, Idefics3ForConditionalGeneration, Idefics3Processor
    from transformers.models.idefics3.image_processing_pil_idefics3 import Idefics3ImageProcessorPil

    folder = Path(folder)
    tokenizer = _tokenizer()
    image_processor = Idefics3ImageProcessorPil(
        do_resize=True,
        size={"longest_edge": 2 * IMAGE_SIZE},
        max_image_size={"longest_edge": IMAGE_SIZE},
        do_image_splitting=True,
    )
    processor = Idefics3Processor(image_processor, tokenizer, image_seq_len=IMAGE_SEQ_LEN, chat_template=CHAT_TEMPLATE)
    config = Idefics3Config(
        image_token_id=processor.image_token_id,
        scale_factor=SCALE_FACTOR,
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "image_size": IMAGE_SIZE,
            "patch_size": PATCH_SIZE,
        },
        text_config={
            "model_type": "llama",
            "vocab_size": len(tokenizer),
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "pad_token_id": tokenizer.pad_token_id,
            "bos_token_id": tokenizer.bos_token_id,
            "eos_token_id": tokenizer.eos_token_id,
        },
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    model = Idefics3ForConditionalGeneration(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.max_new_tokens = MAX_NEW_TOKENS
    processor.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder
