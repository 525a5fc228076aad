"""The model and what it knows: the VAE, audio files, the training corpus, training, and the bank
of sounds encoded to latent sequences.
"""
