"""Image embeddings for recognition of identities unseen in training (faces, places): verification and galleries."""
