"""Image data sources: IDX/MNIST, folders of JPEG/PNG files, and the Pillow conversions they share."""
