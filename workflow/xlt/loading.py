"""Loading models for training and attribution: a base model (a local directory or a hub id, safetensors only,
remote code only where the config allows it) and a training checkpoint (full weights, or a LoRA adapter over the
base). Training and attribution load through here, so both see the same weights and the same chat template.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlt.errors import XltError
from xlt.tokenizer import ensure_chat_template
from xlt.weights import require_safetensors


class ModelLoadError(XltError):
    """A base model could not be loaded; the message names the config key."""


def load_base_model(model_key: str, model_spec: dict[str, Any], path: str, dtype):
    """``AutoModelForCausalLM`` from a local directory or hub id, safetensors only, remote code only if asked."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = f"models.{model_key}.path" if model_spec["source"] != "embedded" else f"models.{model_key}"
    if model_spec["source"] in ("local", "embedded") and not Path(path).is_dir():
        raise ModelLoadError(f"{where}: {path!r} is not a directory with a model (config.json, safetensors)")
    kwargs = {"trust_remote_code": model_spec["trust_remote_code"], "use_safetensors": True}
    if model_spec.get("revision"):
        kwargs["revision"] = model_spec["revision"]
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, **{k: v for k, v in kwargs.items() if k != "use_safetensors"})
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs)
    except (OSError, ValueError) as error:
        offline = " (the hub is unreachable or HF_HUB_OFFLINE is set: download it first)" \
            if model_spec["source"] == "hub" else ""
        raise ModelLoadError(f"{where}: cannot load {path!r}{offline}: {error}") from error
    return model, prepared_tokenizer(tokenizer)


def prepared_tokenizer(tokenizer):
    """A loaded tokenizer as training uses it: a pad token (base checkpoints often ship without one, then eos)
    and a chat template (``xlt.tokenizer``'s where it has none)."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return ensure_chat_template(tokenizer)


def load_checkpoint(model_key: str, model_spec: dict[str, Any], base_path: str, checkpoint: str | Path, dtype):
    """A kept training checkpoint as a model whose trained parameters require gradients (and nothing else):
    the full weights of a full fine-tune, or the base model with the checkpoint's LoRA adapter (``lora_A`` and
    ``lora_B`` trainable). Eval mode (dropout off). Returns (model, tokenizer)."""
    from transformers import AutoModelForCausalLM

    checkpoint = Path(checkpoint)
    if not checkpoint.is_dir():
        raise ModelLoadError(f"{checkpoint}: no such checkpoint (listed in the run's training.json; was the run "
                             f"retrained or its checkpoints deleted?)")
    if model_spec["train_mode"] == "lora":
        from peft import PeftModel

        if not (checkpoint / "adapter_model.safetensors").is_file():
            raise ModelLoadError(f"{checkpoint}: a LoRA checkpoint without adapter_model.safetensors")
        base, tokenizer = load_base_model(model_key, model_spec, base_path, dtype)
        model = PeftModel.from_pretrained(base, str(checkpoint), is_trainable=True)
        model.to(dtype)
    else:
        from transformers import AutoTokenizer

        require_safetensors(str(checkpoint), f"checkpoint of models.{model_key}")
        remote = model_spec["trust_remote_code"]
        has_tokenizer = (checkpoint / "tokenizer_config.json").is_file()
        tokenizer = prepared_tokenizer(AutoTokenizer.from_pretrained(str(checkpoint) if has_tokenizer else base_path,
                                                                     trust_remote_code=remote))
        model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=dtype, use_safetensors=True,
                                                     trust_remote_code=remote)
        for parameter in model.parameters():
            parameter.requires_grad_(True)
    model.eval()
    return model, tokenizer
