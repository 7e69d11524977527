"""Checks on built models from tfjs.lock: budgets, op support per backend, the accuracy gate."""
