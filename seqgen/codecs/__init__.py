"""Codecs (autoencoders) mapping units to latent vectors, per modality; the contract is in :mod:`.base`."""
