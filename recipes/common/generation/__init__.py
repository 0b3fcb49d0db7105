"""Writing tokens, torch-free and shipped in the Bentos of the recipes that write text (seq2seq, text-gen): the
decoder step's cache (kv.py), choosing tokens (decoding.py), requests decoded together (streams.py), OpenAI's API
(completions.py)."""
