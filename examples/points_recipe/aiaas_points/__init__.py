"""A complete minimal aiaas recipe (README: "Writing a recipe"): 2-D points in, a cluster label out."""
