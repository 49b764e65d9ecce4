"""A tiny randomly initialised Llama with a word-level tokenizer trained in code (< 1 s).

For plumbing tests of the local backend only: its text is noise, never evidence of quality.
"""

from __future__ import annotations

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
WORDS = ["the", "a", "blender", "is", "loud", "quiet", "good", "bad", "easy", "to", "clean", "works", "fine", "I", "love", "it", "hate", "this", "book", "movie", "great", "story", "slow", "fast", "read", "again", "never", "ever", "more", "less", "five", "stars", "one", "star", "system", "user", "assistant"]


def make_tiny_lm(seed: int = 0):
    """(model, tokenizer) ready for LocalBackend(loaded=...)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
    raw = Tokenizer(models.WordLevel(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    raw.train_from_iterator([" ".join(WORDS)] * 3, trainers.WordLevelTrainer(special_tokens=specials))
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>", unk_token="<unk>", eos_token="<|end|>")
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, bos_token_id=tok.eos_token_id)
    model = LlamaForCausalLM(cfg).eval()
    # Random init gives near-flat logits; sharpen them so greedy choices are not knife-edge ties.
    with torch.no_grad():
        model.lm_head.weight.mul_(50)
    return model, tok
