"""GAN losses and regularizers: functions of the discriminator's outputs."""
