"""The 1-D CNN beat classifier and the fold ensemble that is shipped as the model."""
