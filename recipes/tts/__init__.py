"""Text-to-speech: espeak-ng phonemes, monotonic alignment, a small FastSpeech-style model, Griffin-Lim."""
