"""A reader shipped as a small delta over another reader: low-rank updates (LoRA) and its own QA head.

Why: the accurate reader is 218 MB of weights. A better version trained from it cannot replace
that file cheaply (every version stays in the repository's history, and one submission may not
carry a change that large), but a LoRA delta over it is a few MB. The delta is merged into the
base's weights when the reader loads (``W += alpha / rank * B @ A``), so reading costs exactly
what the base costs, and no ``peft`` is needed at run time (training uses it: ``--lora``).

A delta folder holds ``adapter.json`` (the base folder, relative to this one; rank; alpha),
``adapter.safetensors`` (``<module>.lora_A`` of shape rank x in, ``<module>.lora_B`` of shape
out x rank, and whole tensors such as ``qa_outputs.weight`` that replace the base's), and, like
any reader folder, ``reader.json`` (windows) and ``calibration.json`` (scores).

    >>> read_adapter("qa/models/mpnet-squad")               # None: a whole model, not a delta
    >>> model = load_qa_model("runs/mpnet-delta")            # its base, with the delta merged in
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from qa.errors import SettingError

ADAPTER_FILE = "adapter.json"
ADAPTER_WEIGHTS = "adapter.safetensors"
HEAD = "qa_outputs"  # the QA head: trained whole, shipped whole


class AdapterError(SettingError):
    """A delta folder that cannot be applied: its base is missing, or its weights do not fit the base."""


@dataclass(frozen=True)
class Adapter:
    folder: Path
    base: Path  # the reader folder the delta applies to
    rank: int
    alpha: float

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank


def read_adapter(folder: str | Path) -> Adapter | None:
    """The delta a reader folder describes, or None where it holds a whole model (or is a hub name)."""
    folder = Path(folder)
    path = folder / ADAPTER_FILE
    if not path.is_file():
        return None
    meta = json.loads(path.read_text(encoding="utf-8"))
    base = (folder / meta["base"]).resolve()
    if not (base / "config.json").is_file():
        raise AdapterError(f"{folder} is a delta over {base}, which holds no model: restore that folder "
                           f"(or fix 'base' in {path}).")  # fmt: skip
    return Adapter(folder, base, int(meta["rank"]), float(meta["alpha"]))


def linear_targets(model) -> list[str]:
    """Names of the encoder's linear layers (attention and feed-forward, every layer): what LoRA adapts.

    By type, not by name, so that one rule fits MPNet (``attn.q``) and BERT (``attention.self.query``) alike.
    """
    import torch

    return [name for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and not name.startswith(HEAD)]  # fmt: skip


def lora_model(model, rank: int, alpha: float | None = None, dropout: float = 0.05):
    """``model`` wrapped for LoRA training (peft): only the low-rank matrices and the QA head learn."""
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=rank, lora_alpha=alpha if alpha is not None else 2 * rank, lora_dropout=dropout,
                        target_modules=linear_targets(model), bias="none")  # fmt: skip
    wrapped = get_peft_model(model, config)
    for p in wrapped.get_base_model().get_submodule(HEAD).parameters():
        p.requires_grad = True
    return wrapped


def adapter_tensors(peft_model) -> dict:
    """The trained delta of a ``lora_model``: LoRA matrices under our names, and the head's tensors."""
    out = {}
    for name, param in peft_model.named_parameters():
        if not param.requires_grad:
            continue
        key = name.removeprefix("base_model.model.")
        for part in ("lora_A", "lora_B"):
            key = key.replace(f".{part}.default.weight", f".{part}")
        out[key] = param.detach().to("cpu").contiguous().clone()
    return out


def save_adapter(peft_model, out: str | Path, base: str | Path) -> Path:
    """Write ``peft_model``'s delta into ``out`` (fp16, as the whole readers are shipped) over ``base``."""
    import torch
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = peft_model.peft_config["default"]
    tensors = {k: v.to(torch.float16) for k, v in adapter_tensors(peft_model).items()}
    save_file(tensors, str(out / ADAPTER_WEIGHTS))
    meta = {"base": os.path.relpath(Path(base).resolve(), out.resolve()), "rank": config.r,
            "alpha": config.lora_alpha, "method": "LoRA, merged at load: W += alpha / rank * B @ A"}  # fmt: skip
    (out / ADAPTER_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


def load_qa_model(folder: str, dtype=None):
    """``AutoModelForQuestionAnswering`` from a whole model folder (or hub name), or a delta merged into its base.

    A delta's base may itself be a delta: each is merged in fp32 in turn, and the result cast to ``dtype``.
    """
    import torch
    from transformers import AutoModelForQuestionAnswering

    dtype = dtype if dtype is not None else torch.float32
    adapter = read_adapter(folder)
    if adapter is None:
        return AutoModelForQuestionAnswering.from_pretrained(folder, dtype=dtype)
    return merge_adapter(load_qa_model(str(adapter.base), torch.float32), adapter).to(dtype)


def tokenizer_folder(folder: str) -> str:
    """Where a reader's tokenizer is: its own folder, or for a delta its base's (recursively)."""
    adapter = read_adapter(folder)
    return folder if adapter is None else tokenizer_folder(str(adapter.base))


def merge_adapter(model, adapter: Adapter):
    """Fold the delta into ``model`` (the base, loaded in fp32) in place, and return it."""
    import torch
    from safetensors.torch import load_file

    tensors = load_file(str(adapter.folder / ADAPTER_WEIGHTS))
    params = dict(model.named_parameters())
    with torch.no_grad():
        for key, value in tensors.items():
            if key.endswith(".lora_A"):
                module = key.removesuffix(".lora_A")
                a, b = value.float(), tensors[module + ".lora_B"].float()
                weight = params.get(module + ".weight")
                if weight is None or weight.shape != (b.shape[0], a.shape[1]):
                    raise AdapterError(f"{adapter.folder}: {module} does not fit its base {adapter.base}.")
                weight += adapter.scaling * (b @ a).to(weight.dtype)
            elif not key.endswith(".lora_B"):
                if key not in params or params[key].shape != value.shape:
                    raise AdapterError(f"{adapter.folder}: {key} does not fit its base {adapter.base}.")
                params[key].copy_(value.to(params[key].dtype))
    return model
