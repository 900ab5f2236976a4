"""scratchnet.train"""
