"""Local servers that speak the real protocols: HuggingFace, CivitAI, a throttled file host."""
