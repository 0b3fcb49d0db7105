"""What the image recipes share: reading and normalising images (torch-free), uploads, export inputs, layers."""
