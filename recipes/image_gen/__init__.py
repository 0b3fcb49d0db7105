"""Image generation (diffusion, VAE, GAN) from image folders."""
