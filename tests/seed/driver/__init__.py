"""The driver app's end-to-end tests, on the seed county of the folder above."""
