"""Store-and-forward historian (knows nothing of plc_emulator)."""
