"""Evaluation protocols and metrics: PSNR/SSIM, colourfulness, histograms, ImageNet agreement."""
