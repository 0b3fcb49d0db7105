"""Image classification from ImageFolder-style directories."""
