"""What every stage runs on: device and seeding, resume files, the SGD training loop, SIGTERM."""
