"""stockx_sim."""
