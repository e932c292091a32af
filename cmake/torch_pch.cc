// Anchor for the precompiled torch header shared by every torch-using target.
