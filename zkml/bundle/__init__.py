"""Circuit bundles: one folder per compiled model (manifest, model, R1CS, keys) and the
inference claims proved and verified against them."""
