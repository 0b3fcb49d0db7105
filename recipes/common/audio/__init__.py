"""Audio parts shared by audio-cls, asr and tts: decoding, the log-mel front end, reading a dataset's recordings
and the espeak-ng voices of the built-in datasets. Torch-free: the services ship what they import of it."""
