"""Training: one loop for pretraining and fine-tuning, the losses it optimises, and recipes."""
