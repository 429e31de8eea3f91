"""Cluster profiles: the profiles dialog, SSH prompts answered with dialogs."""
