"""Speech recognition with CTC over characters."""
