"""Training: patient-wise folds inside DS1, the resumable training loop, seeding."""
