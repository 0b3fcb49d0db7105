"""Chat rendering, torch-free (it ships in the Bento): messages -> the prompt text a model was trained on.

A hub model brings its own Jinja chat template (tokenizer_config.json); a model without one (model=gpt_small, most
tiny test models) gets ``SIMPLE``. Rendered in a sandbox as Transformers renders it, so training, evaluation and
the service give the model the same text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aiaas_cli.serving.runtime import BadInput

SIMPLE = (
    "{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
ROLES = ("system", "user", "assistant")


@lru_cache(maxsize=8)
def _compiled(template: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise BadInput(f"the chat template refuses these messages: {message}", status=422)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(template)


def check_messages(messages: Any) -> list[dict]:
    """``messages`` as a list of {"role", "content"} with known roles and string contents; BadInput otherwise."""
    if not isinstance(messages, list) or not messages:
        raise BadInput("messages must be a non-empty list of {role, content}", status=422)
    checked = []
    for number, message in enumerate(messages, 1):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise BadInput(f"message {number} needs a string 'content'", status=422)
        if message.get("role") not in ROLES:
            raise BadInput(f"message {number} has role {message.get('role')!r}, not one of {', '.join(ROLES)}", 422)
        checked.append({"role": message["role"], "content": message["content"]})
    return checked


def render(template: str | None, messages: list[dict], generation_prompt: bool = True, **tokens: str) -> str:
    """The text of ``messages`` (and the assistant's turn opening, with ``generation_prompt``); ``tokens``: the
    bos_token/eos_token strings a hub template may use."""
    from jinja2 import TemplateError

    try:
        return _compiled(template or SIMPLE).render(
            messages=messages, add_generation_prompt=generation_prompt, **tokens
        )
    except TemplateError as exc:
        raise BadInput(f"cannot render the chat template: {exc}", status=422) from None
