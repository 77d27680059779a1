"""The colorization core every front end calls: the Colorizer's steps, the one-file job, reference search."""
