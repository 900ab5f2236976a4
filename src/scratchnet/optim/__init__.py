"""scratchnet.optim"""
